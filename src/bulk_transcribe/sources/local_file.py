"""Media files already on this machine."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.media import probe_duration, require_regular_file
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.sources.base import FetchContext, Source


class LocalFileSource(Source):
    name = "local_file"
    source_types = frozenset({SourceType.LOCAL_FILE})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        path = Path(item.source)
        require_regular_file(path)  # not found, a pipe, a device: each says what it is
        if path.stat().st_size == 0:
            raise PermanentError(
                ErrorKind.DECODE,
                f"{path.name} is empty (0 bytes): nothing was saved in it; copy or export "
                "the recording again",
            )
        try:
            duration = probe_duration(path)
        except PermanentError as exc:
            if exc.kind is not ErrorKind.DECODE or exc.message.startswith("no audio track"):
                raise  # a silent video plays: the advice below would mislead
            raise PermanentError(
                ErrorKind.DECODE,
                f"{exc.message}; check that it plays in a media player: it may be cut short, "
                f"or another kind of file named {path.suffix or 'without an extension'}",
            ) from exc
        return Fetched(
            media=MediaFile(path=path, duration=duration), title=path.stem, duration=duration
        )
