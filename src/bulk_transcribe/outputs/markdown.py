"""Markdown with YAML front matter, made to open cleanly in Obsidian."""

from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import yaml

from bulk_transcribe.models import Item, Transcript
from bulk_transcribe.outputs.moments import moment_clock as clock
from bulk_transcribe.outputs.moments import moment_url
from bulk_transcribe.outputs.paragraphs import split_timed_paragraphs

NO_SPEECH = "_No speech detected._"
_FLAG_KEYS = ("decoding", "timing_estimated", "transcript_empty")


def build_frontmatter(
    *, item: Item, transcript: Transcript, session_id: str, transcribed_at: datetime
) -> dict[str, Any]:
    duration = transcript.duration if transcript.duration is not None else item.duration
    frontmatter: dict[str, Any] = {
        "title": item.display_title,
        "source": item.source,
        "source_type": str(item.source_type),
        "duration_seconds": round(duration, 1) if duration is not None else None,
        "language": transcript.language or item.language,
        "engine": transcript.engine,
        "model": transcript.model,
        "method": transcript.method,
        "transcribed_at": utc_timestamp(transcribed_at),
        "session_id": session_id,
    }
    if transcript.decoding:
        frontmatter["decoding"] = yaml_safe(transcript.decoding)
    if transcript.timing_estimated:
        frontmatter["timing_estimated"] = True
    if transcript.is_empty:
        frontmatter["transcript_empty"] = True
    # Metadata must never shadow our own keys, not even the optional flags; a column named
    # like one of them ("Source": where a row came from, "Language") is kept beside them.
    taken = set(frontmatter) | set(_FLAG_KEYS)
    for key, value in item.metadata.items():
        name = str(key)
        if name in taken:
            name = f"input_{name}"
        if name and name not in taken and name not in frontmatter and value is not None:
            frontmatter[name] = yaml_safe(value)
    return frontmatter


def utc_timestamp(moment: datetime) -> str:
    # A naive datetime is taken as UTC already: the store records times in UTC.
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def yaml_safe(value: Any) -> Any:
    """Reduce a value to what yaml.safe_dump writes and yaml.safe_load reads back equal."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        # NaN never equals itself, so it would not survive a round trip as a float.
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [yaml_safe(v) for v in value if v is not None]
    if isinstance(value, dict):
        return {str(k): yaml_safe(v) for k, v in value.items() if v is not None}
    return str(value)


def speaker_turns(frontmatter: dict[str, Any], transcript: Transcript) -> list[str]:
    """ "**Speaker 1:** ..." paragraphs, one turn after another; [] without speaker labels.

    A long turn is still broken into paragraphs; only its first one carries the label.
    """
    if all(segment.speaker is None for segment in transcript.segments):
        return []
    paragraphs: list[str] = []
    for speaker, turn in itertools.groupby(transcript.segments, key=lambda s: s.speaker):
        turn_only = dataclasses.replace(transcript, segments=list(turn))
        pieces = timed_paragraphs(frontmatter, turn_only)
        if pieces:
            label = f"Speaker {speaker}" if speaker is not None else "Unknown speaker"
            paragraphs.append(f"**{label}:** {pieces[0]}")
            paragraphs.extend(pieces[1:])
    return paragraphs


def render_markdown(frontmatter: dict[str, Any], transcript: Transcript) -> str:
    header = yaml.safe_dump(
        frontmatter,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,  # long titles stay on one line instead of folding
    )
    title = " ".join(str(frontmatter.get("title") or "").split()) or "Untitled"
    paragraphs = speaker_turns(frontmatter, transcript) or timed_paragraphs(frontmatter, transcript)
    paragraphs = paragraphs or [NO_SPEECH]
    body = "\n\n".join(paragraphs)
    return f"---\n{header}---\n\n# {title}\n\n{body}\n"


def timed_paragraphs(frontmatter: dict[str, Any], transcript: Transcript) -> list[str]:
    """Each paragraph led by its start time, linked to that moment of the source; a `~` says
    the times were estimated (captions without timings)."""
    source, kind = frontmatter.get("source"), frontmatter.get("source_type")
    mark = "~" if transcript.timing_estimated else ""
    lines = []
    for paragraph in split_timed_paragraphs(transcript):
        stamp = f"{mark}{clock(paragraph.start)}"
        if source and kind:
            stamp = f"[{stamp}]({moment_url(str(source), str(kind), paragraph.start)})"
        lines.append(f"{stamp} {paragraph.text}")
    return lines
