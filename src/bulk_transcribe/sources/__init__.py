"""Where media comes from, one module a source. Each source claims the links it takes,
expands its collections and fetches its items (sources/base.py). Adding a source means one
module and one line in SOURCES."""

from __future__ import annotations

from urllib.parse import SplitResult

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import Entry, ItemSpec, SourceType
from bulk_transcribe.sources.base import (
    ExpandContext,
    ExpandResult,
    Expansion,
    FetchContext,
    Source,
)
from bulk_transcribe.sources.http_media import HttpMediaSource
from bulk_transcribe.sources.local_file import LocalFileSource
from bulk_transcribe.sources.podcast import PodcastFeedSource
from bulk_transcribe.sources.web_page import WebPageSource
from bulk_transcribe.sources.youtube import YouTubeSource

# Asked in this order which links they claim: the catch-all for http(s) media comes last.
SOURCES: list[Source] = [
    YouTubeSource(),
    PodcastFeedSource(),
    WebPageSource(),
    LocalFileSource(),
    HttpMediaSource(),
]


def source_for(source_type: SourceType) -> Source:
    for source in SOURCES:
        if source_type in source.source_types:
            return source
    raise PermanentError(
        ErrorKind.UNSUPPORTED,
        f"{source_type.value.replace('_', ' ')} links are not supported by this version yet",
    )


def claim_url(url: str, parts: SplitResult, origin: str) -> Entry | None:
    """The first source's item (or its reason to refuse) for an http(s) link."""
    for source in SOURCES:
        entry = source.claim(url, parts, origin)
        if entry is not None:
            return entry
    return None


def claim_text(text: str, origin: str) -> Entry | None:
    """An item for text that is neither a link with a scheme nor a file, if a source knows it."""
    for source in SOURCES:
        entry = source.claim_text(text, origin)
        if entry is not None:
            return entry
    return None


def expander_for(spec: ItemSpec) -> Source | None:
    """The source that expands `spec` before a run (a playlist, a feed, an unnamed link)."""
    return next((source for source in SOURCES if source.expands(spec)), None)


def is_collection(spec: ItemSpec) -> bool:
    """A playlist, channel or feed: it becomes many items when expanded."""
    return spec.source_type is SourceType.PODCAST_FEED or (
        spec.source_type is SourceType.YOUTUBE and expander_for(spec) is not None
    )


__all__ = [
    "SOURCES",
    "ExpandContext",
    "ExpandResult",
    "Expansion",
    "FetchContext",
    "Source",
    "claim_text",
    "claim_url",
    "expander_for",
    "is_collection",
    "source_for",
]
