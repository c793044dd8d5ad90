"""Direct http(s) links to audio or video files (podcast episodes among them)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.sources.base import FetchContext
from bulk_transcribe.sources.download import cached_download


def title_from_url(url: str) -> str | None:
    name = Path(unquote(urlparse(url).path)).stem
    return name or None


class HttpMediaSource:
    name = "http_media"
    source_types = frozenset({SourceType.HTTP_MEDIA})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        path = cached_download(
            item.source, context.cache_dir, context.settings, context.check_cancelled
        )
        duration = probe_duration(path)
        return Fetched(
            media=MediaFile(path=path, duration=duration),
            title=title_from_url(item.source),
            duration=duration,
        )
