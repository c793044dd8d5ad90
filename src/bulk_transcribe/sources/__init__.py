"""Where media comes from. Adding a source means one module and one line in SOURCES."""

from __future__ import annotations

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import SourceType
from bulk_transcribe.sources.base import FetchContext, Source
from bulk_transcribe.sources.http_media import HttpMediaSource
from bulk_transcribe.sources.local_file import LocalFileSource
from bulk_transcribe.sources.podcast import PodcastFeedSource
from bulk_transcribe.sources.web_page import WebPageSource
from bulk_transcribe.sources.youtube import YouTubeSource

SOURCES: list[Source] = [
    LocalFileSource(),
    HttpMediaSource(),
    YouTubeSource(),
    WebPageSource(),
    PodcastFeedSource(),
]


def source_for(source_type: SourceType) -> Source:
    for source in SOURCES:
        if source_type in source.source_types:
            return source
    raise PermanentError(
        ErrorKind.UNSUPPORTED,
        f"{source_type.value.replace('_', ' ')} links are not supported by this version yet",
    )


__all__ = ["SOURCES", "FetchContext", "Source", "source_for"]
