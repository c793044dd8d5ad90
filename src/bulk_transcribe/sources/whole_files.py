"""A downloaded file checked before it is used: one cut short leaves the cache and fails as a
retryable network error, however it was downloaded (httpx for direct links, yt-dlp for pages
and videos)."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.errors import TruncatedMedia
from bulk_transcribe.media import checked_duration
from bulk_transcribe.sources.cache import DownloadCache


def checked_download(path: Path, source: str, cache: DownloadCache) -> float:
    """Seconds of audio in the download at `path` (checked to decode, media.checked_duration).

    TruncatedMedia naming `source` (the item's link, not a media URL found inside a page)
    when the file holds clearly less than it declares: a server announced a shorter length
    than its file, and neither httpx nor yt-dlp can tell. The file is forgotten, so a retry
    or a resume downloads it whole instead of finding it cached.
    """
    try:
        return checked_duration(path)
    except TruncatedMedia as exc:
        cache.forget(path)
        raise TruncatedMedia(source, exc.size, exc.held, exc.declared) from exc
