"""The interface between the runner and every place media comes from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bulk_transcribe.models import Fetched, Item, SourceType
from bulk_transcribe.settings import Settings


@dataclass(frozen=True)
class FetchContext:
    settings: Settings
    cache_dir: Path  # downloads live here, keyed so a resumed session reuses them
    check_cancelled: Callable[[], None]  # raises Cancelled when the user aborts
    # The engine can take a URL itself (DEAPI's vid2txt): a source may then skip the download
    # and return Fetched(remote_url=...) for the runner to hand to `engine.transcribe_url`.
    engine_accepts_urls: bool = False
    # The item's real link when the stored one was scrubbed of credentials (links.py).
    real_link: str | None = None


class Source(Protocol):
    name: str
    source_types: frozenset[SourceType]

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        """Local media for an engine, or a ready transcript; raise TranscribeError on failure."""
        ...
