"""Media files already on this machine."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.sources.base import FetchContext


class LocalFileSource:
    name = "local_file"
    source_types = frozenset({SourceType.LOCAL_FILE})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        path = Path(item.source)
        if not path.is_file():
            raise PermanentError(
                ErrorKind.NOT_FOUND,
                f"file not found: {path} (moved or deleted since it was added?)",
            )
        duration = probe_duration(path)
        return Fetched(
            media=MediaFile(path=path, duration=duration), title=path.stem, duration=duration
        )
