"""What ingest hands back: the items it understood and the entries it could not."""

from __future__ import annotations

from dataclasses import dataclass, field

from bulk_transcribe.models import ItemSpec

MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class InvalidEntry:
    """One entry ingest could not turn into an item, with where it was and why."""

    origin: str  # e.g. "links.csv row 4", "links.txt line 7", "argument 2"
    value: str
    reason: str

    def __post_init__(self) -> None:
        # A pasted essay in a cell should not flood the report.
        if len(self.value) > MAX_VALUE_CHARS:
            object.__setattr__(self, "value", self.value[: MAX_VALUE_CHARS - 1] + "…")


@dataclass
class IngestResult:
    items: list[ItemSpec] = field(default_factory=list)  # de-duplicated, first-seen order
    invalid: list[InvalidEntry] = field(default_factory=list)
    duplicates_merged: int = 0
    warnings: list[str] = field(default_factory=list)


Entry = ItemSpec | InvalidEntry
