"""Recognising YouTube URLs and rewriting them to one canonical form."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qs, urlencode

VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
YOUTUBE_HOSTS = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "music.youtube.com",
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
        "youtu.be",
    }
)
_ID_PATH_PREFIXES = ("shorts", "live", "embed", "v", "e")
_CHANNEL_PATH_PREFIXES = ("channel", "c", "user")
_PLAYLIST_PLAYER = "videoseries"


def is_youtube_host(host: str) -> bool:
    return host.lower() in YOUTUBE_HOSTS


def is_video_id(text: str) -> bool:
    return VIDEO_ID.fullmatch(text) is not None


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def video_id_from(parts: SplitResult) -> str | None:
    """The 11-character video id of a YouTube video URL, or None if it names no single video."""
    segments = [s for s in parts.path.split("/") if s]
    if (parts.hostname or "").lower() == "youtu.be":
        candidate = segments[0] if segments else ""
    elif segments[:1] == ["watch"] or not segments:
        candidate = parse_qs(parts.query).get("v", [""])[0]
        if not candidate and len(segments) == 2:  # /watch/<id>, as some apps share it
            candidate = segments[1]
    elif len(segments) >= 2 and segments[0] in _ID_PATH_PREFIXES:
        candidate = segments[1]
    else:
        return None
    # /embed/videoseries?list=… is a playlist's player, though "videoseries" has 11 letters.
    return candidate if is_video_id(candidate) and candidate != _PLAYLIST_PLAYER else None


def collection_url(parts: SplitResult) -> str | None:
    """Canonical URL of a playlist or channel, or None if the URL is neither."""
    segments = [s for s in parts.path.split("/") if s]
    playlist = parse_qs(parts.query).get("list", [""])[0]
    if playlist and "v" not in parse_qs(parts.query):
        return "https://www.youtube.com/playlist?" + urlencode({"list": playlist})
    is_channel = bool(segments) and (
        segments[0].startswith("@") or (segments[0] in _CHANNEL_PATH_PREFIXES and len(segments) > 1)
    )
    if is_channel:
        return "https://www.youtube.com/" + "/".join(segments)
    return None


def canonical_youtube_url(parts: SplitResult) -> str | None:
    """The one URL every spelling of a YouTube video, playlist or channel maps to."""
    video_id = video_id_from(parts)
    if video_id:
        return watch_url(video_id)
    return collection_url(parts)
