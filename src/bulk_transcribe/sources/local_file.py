"""Media files already on this machine."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.media import probe_duration, require_regular_file
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.sources.base import FetchContext, Source


class LocalFileSource(Source):
    name = "local_file"
    source_types = frozenset({SourceType.LOCAL_FILE})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        path = Path(item.source)
        require_regular_file(path)  # not found, a pipe, a device: each says what it is
        duration = probe_duration(path)
        return Fetched(
            media=MediaFile(path=path, duration=duration), title=path.stem, duration=duration
        )
