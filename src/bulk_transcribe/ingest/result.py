"""What ingest hands back: the items it understood and the entries it could not."""

from __future__ import annotations

from dataclasses import dataclass, field

from bulk_transcribe.models import Entry, InvalidEntry, ItemSpec


@dataclass
class IngestResult:
    items: list[ItemSpec] = field(default_factory=list)  # de-duplicated, first-seen order
    invalid: list[InvalidEntry] = field(default_factory=list)
    duplicates_merged: int = 0
    warnings: list[str] = field(default_factory=list)


__all__ = ["Entry", "IngestResult", "InvalidEntry"]
