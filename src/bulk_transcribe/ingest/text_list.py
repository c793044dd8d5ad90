"""Entries from a plain list: one URL, id or path per line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from bulk_transcribe.ingest.classify import classify_entry, split_links
from bulk_transcribe.ingest.result import Entry


def text_list_entries(
    lines: Iterable[str], name: str, base_dirs: Sequence[Path] | None
) -> list[Entry]:
    """One entry per non-blank, non-comment line; origins read "<name> line N"."""
    entries: list[Entry] = []
    for number, line in enumerate(lines, start=1):
        value = line.lstrip("\ufeff").strip() if number == 1 else line.strip()
        if value and not value.startswith("#"):
            for part in split_links(value):  # two links pasted on one line: two items
                entries.append(classify_entry(part, f"{name} line {number}", base_dirs))
    return entries
