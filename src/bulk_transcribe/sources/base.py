"""What every source is: the links it claims, how a collection of it expands, and fetching
one item's media or transcript — the one interface between ingest, the runner and each place
media comes from (like yt-dlp's extractors: each says what it takes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import SplitResult

from bulk_transcribe.models import Entry, Fetched, InvalidEntry, Item, ItemSpec, SourceType
from bulk_transcribe.settings import SourceSettings

if TYPE_CHECKING:
    from bulk_transcribe.sources.download import Probe


@dataclass(frozen=True)
class FetchContext:
    settings: SourceSettings
    cache_dir: Path  # downloads live here, keyed so a resumed session reuses them
    check_cancelled: Callable[[], None]  # raises Cancelled when the user aborts
    # The engine can take a URL itself (DEAPI's vid2txt): a source may then skip the download
    # and return Fetched(remote_url=...) for the runner to hand to `engine.transcribe_url`.
    engine_accepts_urls: bool = False
    # The item's real link when the stored one was scrubbed of credentials (links.py).
    real_link: str | None = None


@dataclass(frozen=True)
class Expansion:
    """What one playlist, channel or feed turned into, to show the user before the run."""

    source: str
    kind: str  # "playlist", "channel", "podcast feed", "web page"
    title: str | None
    found: int  # entries looked at
    kept: int  # items it contributes
    notes: tuple[str, ...] = ()  # e.g. "limited to the latest 2"


@dataclass
class ExpandResult:
    items: list[ItemSpec] = field(default_factory=list)
    expansions: list[Expansion] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)
    duplicates_merged: int = 0


FlatLister = Callable[[str, SourceSettings], tuple[dict[str, Any], Iterator[dict[str, Any]]]]
InfoExtractor = Callable[[str, SourceSettings], dict[str, Any]]


class ExpandContext(Protocol):
    """The network calls an expansion may make, as parameters so tests can stand in for
    youtube.com, and the run's settings (limits, dates)."""

    settings: SourceSettings
    list_flat: FlatLister
    video_info: InfoExtractor
    fetch_bytes: Callable[[str, SourceSettings], bytes]
    probe: Callable[[str, SourceSettings], Probe]

    def pace(self) -> None:
        """Wait before the next request to a site that asks for politeness (YouTube)."""
        ...

    def expand_as(self, spec: ItemSpec, result: ExpandResult) -> list[ItemSpec]:
        """Expand `spec` again by the source its (new) type belongs to."""
        ...


class Source:
    """The base every source extends: by default it claims no link and expands nothing; each
    source overrides what it knows."""

    name: str = ""
    source_types: frozenset[SourceType] = frozenset()

    def claim(self, url: str, parts: SplitResult, origin: str) -> Entry | None:
        """An item (or why the link is unusable) for an http(s) link this source takes; None
        when it is not this source's. Sources are asked in SOURCES' order."""
        return None

    def claim_text(self, text: str, origin: str) -> Entry | None:
        """An item for text that is neither a link with a scheme nor an existing file (a
        bare video id, a link pasted without https://), or None."""
        return None

    def expands(self, spec: ItemSpec) -> bool:
        """Whether `spec` is a collection of this source, to expand before a run."""
        return False

    def expand(
        self, spec: ItemSpec, context: ExpandContext, result: ExpandResult
    ) -> list[ItemSpec]:
        """The items `spec` stands for; what was found goes to `result.expansions`, what
        could not be used to `result.invalid`."""
        return [spec]

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        """Local media for an engine, or a ready transcript; raise TranscribeError on failure."""
        raise NotImplementedError
