"""Entries from a plain list: one URL, id or path per line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from bulk_transcribe.ingest.classify import classify_entry, split_links
from bulk_transcribe.ingest.result import Entry

# "https://…/ep1.mp3   # the good one": a note after a link (a link holds no raw space). Not
# after a path, whose file name may hold " #" ("Episode #3.mp3").
_NOTE_AFTER_LINK = re.compile(r"^(https?://\S+)\s+#.*$", re.IGNORECASE)


def text_list_entries(
    lines: Iterable[str], name: str, base_dirs: Sequence[Path] | None
) -> list[Entry]:
    """One entry per non-blank, non-comment line; origins read "<name> line N"."""
    entries: list[Entry] = []
    for number, line in enumerate(lines, start=1):
        value = line.lstrip("\ufeff").strip() if number == 1 else line.strip()
        value = _NOTE_AFTER_LINK.sub(r"\1", value)
        if value and not value.startswith("#"):
            for part in split_links(value):  # two links pasted on one line: two items
                entries.append(classify_entry(part, f"{name} line {number}", base_dirs))
    return entries
