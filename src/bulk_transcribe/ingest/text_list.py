"""Entries from a plain list: one URL, id or path per line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from bulk_transcribe.ingest.classify import classify_entry, split_links
from bulk_transcribe.ingest.paths import is_media_path
from bulk_transcribe.ingest.result import Entry
from bulk_transcribe.models import ItemSpec

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


# In a Markdown note: [words](link), a bare link in a sentence, and Obsidian's embedded or
# linked files ("![[Recording 2024-05-01.m4a]]", "[[talk.mp3|the talk]]").
_MARKDOWN_LINK = re.compile(r"\[(?P<title>[^\]]*)\]\((?P<link>https?://[^)\s]+)\)", re.IGNORECASE)
_BARE_LINK = re.compile(r"https?://[^\s<>\[\]()\"'`]+", re.IGNORECASE)
_WIKI_LINK = re.compile(r"!?\[\[(?P<target>[^\]|#^]+)(?:[#^][^\]|]*)?(?:\|(?P<title>[^\]]*))?\]\]")


def markdown_note_entries(
    lines: Iterable[str], name: str, base_dirs: Sequence[Path] | None
) -> list[Entry]:
    """The links and media files a Markdown note names, wherever they sit in its lines;
    prose, headings and links to other notes are not entries. Origins read "<name> line N"."""
    entries: list[Entry] = []
    lines = list(lines)
    body_from = _after_front_matter(lines)
    for number, line in enumerate(lines, start=1):
        if number <= body_from:  # the note's own properties, not a list
            continue
        origin = f"{name} line {number}"
        for match in _WIKI_LINK.finditer(line):
            target = match.group("target").strip()
            if is_media_path(Path(target)):
                entry = classify_entry(target, origin, base_dirs)
                entries.append(_titled(entry, match.group("title")))
        rest = _WIKI_LINK.sub(" ", line)
        for match in _MARKDOWN_LINK.finditer(rest):
            entry = classify_entry(match.group("link"), origin, base_dirs)
            entries.append(_titled(entry, match.group("title")))
        for match in _BARE_LINK.finditer(_MARKDOWN_LINK.sub(" ", rest)):
            entries.append(classify_entry(match.group(0), origin, base_dirs))
    return entries


def _after_front_matter(lines: list[str]) -> int:
    """How many lines the note's YAML front matter ("---" … "---" at its top) takes."""
    if not lines or lines[0].lstrip("\ufeff").strip() != "---":
        return 0
    closing = next((n for n, line in enumerate(lines[1:], start=2) if line.strip() == "---"), 0)
    return closing


def _titled(entry: Entry, title: str | None) -> Entry:
    title = (title or "").strip()
    if title and isinstance(entry, ItemSpec) and entry.title is None:
        return replace(entry, title=title)
    return entry
