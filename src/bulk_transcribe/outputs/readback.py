"""Timed segments read back from an item's written files: JSON first, else SRT or VTT cues."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from bulk_transcribe.models import Item, Segment
from bulk_transcribe.store.search_index import UnreadableTranscript

# The order files are tried in: JSON keeps the engine's segments; subtitles are cut shorter.
READABLE_SUFFIXES = (".json", ".srt", ".vtt")
_CUE_TIME = re.compile(
    r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})"
)
_TAG = re.compile(r"<[^>]+>")



def read_segments(folder: Path, outputs: list[str]) -> list[Segment]:
    """The segments of the first readable timed file among `outputs` (relative to `folder`)."""
    by_suffix = {Path(name).suffix.lower(): folder / name for name in outputs}
    tried = []
    for suffix in READABLE_SUFFIXES:
        path = by_suffix.get(suffix)
        if path is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
            return _parse_json(text) if suffix == ".json" else _parse_cues(text)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            tried.append(f"{path.name}: {exc}")
    if not tried:
        raise UnreadableTranscript("no .json, .srt or .vtt among its files")
    raise UnreadableTranscript("; ".join(tried))


def _parse_json(text: str) -> list[Segment]:
    document = json.loads(text)
    return [
        Segment(float(s["start"]), float(s["end"]), str(s["text"]))
        for s in document["segments"]
        if str(s.get("text", "")).strip()
    ]


def _parse_cues(text: str) -> list[Segment]:
    """SRT and WebVTT share their cue shape: a time line, then text lines up to a blank line.

    Written by hand: two dozen lines, where a subtitle library would be a dependency for this
    one read."""
    segments = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = block.strip().splitlines()
        for index, line in enumerate(lines):
            found = _CUE_TIME.search(line)
            if found:
                words = " ".join(lines[index + 1 :])
                words = html.unescape(_TAG.sub("", words)).strip()
                if words:
                    segments.append(Segment(_seconds(found, 1), _seconds(found, 5), words))
                break
    if not segments and text.strip() and not text.strip().startswith("WEBVTT"):
        raise ValueError("no subtitle cues found")
    return segments


def _seconds(found: re.Match[str], first: int) -> float:
    hours, minutes, secs, millis = (found.group(first + i) for i in range(4))
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + int(millis) / 1000


def segments_from_files(item: Item, session_folder: Path) -> list[Segment]:
    """The search index's reader for items whose transcript the store did not keep."""
    return read_segments(session_folder, item.outputs)
