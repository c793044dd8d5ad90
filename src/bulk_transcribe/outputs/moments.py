"""Links to a moment of a source: YouTube's `&t=`, a media fragment (`#t=`) for files and URLs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from bulk_transcribe.figures import clock
from bulk_transcribe.models import SourceType
from bulk_transcribe.sources.youtube_links import is_youtube_host, video_id_from, watch_url


def moment_url(source: str, source_type: SourceType | str, seconds: float) -> str:
    """Where `seconds` into `source` can be opened: the video at that time, or the media file
    with a W3C media fragment, which browsers and most players start playing from."""
    at = max(0, int(seconds))
    kind = SourceType(source_type)
    if kind is SourceType.YOUTUBE:
        parts = urlsplit(source)
        video_id = video_id_from(parts) if is_youtube_host(parts.hostname or "") else None
        if video_id:
            return f"{watch_url(video_id)}&t={at}s"
    if kind is SourceType.LOCAL_FILE:
        return f"{Path(source).resolve().as_uri()}#t={at}"
    return f"{source.split('#', 1)[0]}#t={at}"


def moment_clock(seconds: float) -> str:
    """12:05 or 1:02:03: how a time in a recording is written next to its text."""
    return clock(seconds, moment=True)
