"""youtube.com as recorded: watch pages, InnerTube player answers and timedtext caption XML.

youtube-transcript-api takes a `requests.Session` as its `http_client`; mounting this adapter
on one makes the library parse these recorded answers exactly as it parses live ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

API_KEY = "AIzaSyRecordedKey0123456789"
WATCH_HTML = f'<html><script>ytcfg.set({{"INNERTUBE_API_KEY": "{API_KEY}"}});</script></html>'
RECAPTCHA_HTML = '<html><body><form><div class="g-recaptcha"></div></form></body></html>'
BOT_CHECK = "Sign in to confirm you’re not a bot"


@dataclass
class Track:
    language_code: str
    name: str
    generated: bool
    snippets: list[tuple[float, float, str]]  # start, duration, text


@dataclass
class Video:
    tracks: list[Track] = field(default_factory=list)
    playability: dict[str, Any] = field(default_factory=lambda: {"status": "OK"})
    captions_disabled: bool = False
    watch_status: int = 200
    watch_html: str = WATCH_HTML


def private_video() -> Video:
    return Video(playability={"status": "LOGIN_REQUIRED", "reason": "This video is private"})


def deleted_video() -> Video:
    return Video(playability={"status": "ERROR", "reason": "This video is unavailable"})


def bot_checked_video() -> Video:
    return Video(playability={"status": "LOGIN_REQUIRED", "reason": BOT_CHECK})


class RecordedYouTube(BaseAdapter):
    def __init__(self, videos: dict[str, Video]):
        super().__init__()
        self.videos = videos
        self.requests: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        self.requests.append(f"{request.method} {url}")
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if parts.path == "/watch":
            video = self.videos.get(query["v"][0], deleted_video())
            return _response(request, video.watch_status, video.watch_html, "text/html")
        if parts.path == "/youtubei/v1/player":
            video_id = json.loads(request.body or b"{}")["videoId"]
            video = self.videos.get(video_id, deleted_video())
            return _response(request, 200, json.dumps(_player(video, video_id)))
        if parts.path == "/api/timedtext":
            video = self.videos[query["v"][0]]
            track = next(
                t
                for t in video.tracks
                if t.language_code == query["lang"][0] and t.generated == ("kind" in query)
            )
            return _response(request, 200, _timedtext(track), "text/xml")
        return _response(request, 404, "not recorded", "text/plain")

    def close(self) -> None:
        pass


def recorded_session(videos: dict[str, Video]) -> tuple[requests.Session, RecordedYouTube]:
    session = requests.Session()
    adapter = RecordedYouTube(videos)
    session.mount("https://www.youtube.com", adapter)
    session.mount("http://", adapter)  # anything else must not reach the network either
    return session, adapter


def _player(video: Video, video_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"playabilityStatus": video.playability}
    if video.captions_disabled or video.playability.get("status") != "OK":
        return answer
    answer["captions"] = {
        "playerCaptionsTracklistRenderer": {
            "captionTracks": [
                {
                    "baseUrl": f"https://www.youtube.com/api/timedtext?v={video_id}"
                    f"&lang={t.language_code}{'&kind=asr' if t.generated else ''}",
                    "name": {"runs": [{"text": t.name}]},
                    "languageCode": t.language_code,
                    **({"kind": "asr"} if t.generated else {}),
                    "isTranslatable": True,
                }
                for t in video.tracks
            ],
            "translationLanguages": [],
        }
    }
    return answer


def _timedtext(track: Track) -> str:
    lines = "".join(
        f'<text start="{start}" dur="{duration}">{escape(text)}</text>'
        for start, duration, text in track.snippets
    )
    return f'<?xml version="1.0" encoding="utf-8" ?><transcript>{lines}</transcript>'


def _response(
    request: requests.PreparedRequest,
    status: int,
    body: str,
    content_type: str = "application/json",
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode("utf-8")
    response.headers = CaseInsensitiveDict({"Content-Type": f"{content_type}; charset=utf-8"})
    response.encoding = "utf-8"
    response.url = request.url or ""
    response.request = request
    return response


# A yt-dlp info dict for a YouTube video, as `extract_info(url, download=False)` returns it
# (trimmed to the fields the source reads, plus a few it must ignore).
def recorded_info(video_id: str, **overrides: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": video_id,
        "title": "How solar panels work",
        "channel": "Energy Explained",
        "channel_url": "https://www.youtube.com/channel/UCrecorded000000000000",
        "uploader": "Energy Explained",
        "upload_date": "20240305",
        "duration": 16,
        "description": "A short explainer.\nChapters below.",
        "tags": ["solar", "energy"],
        "chapters": [
            {"start_time": 0.0, "end_time": 8.0, "title": "Light"},
            {"start_time": 8.0, "end_time": 16.0, "title": "Current"},
        ],
        "thumbnail": f"https://i.ytimg.com/vi/{video_id}/maxresdefault.jpg",
        "view_count": 1234,
        "language": "en",
        "webpage_url": f"https://www.youtube.com/watch?v={video_id}",
        "extractor_key": "Youtube",
        "formats": [{"format_id": "251", "acodec": "opus", "vcodec": "none"}],
    }
    info.update(overrides)
    return info
