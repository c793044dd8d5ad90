"""Provider payloads into Segments: measured times when given, sentence estimates when not."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bulk_transcribe.models import Segment

SPEECH_CHARS_PER_SECOND = 15.0  # typical speaking rate, for estimates when duration is unknown
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_TIME = r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d+)?|\d+(?:\.\d+)?s?"
# "[00:00:01.000 -> 00:00:04.500] text", "0.00s - 4.50s: text", "00:00:01,000 --> 00:00:04,500"
_TIMED_LINE = re.compile(
    rf"^\s*\[?\s*(?P<start>{_TIME})\s*(?:-->|->|–|-)\s*(?P<end>{_TIME})\s*\]?\s*:?\s*(?P<text>.*)$"
)


@dataclass(frozen=True)
class ParsedTranscript:
    segments: list[Segment]
    text: str
    language: str | None
    duration: float | None
    timing_estimated: bool

    def to_json(self) -> str:
        """For keeping a paid-for piece in the store (see EngineJob.save_chunk)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ParsedTranscript:
        data = json.loads(text)
        data["segments"] = [Segment(**s) for s in data["segments"]]
        return cls(**data)


def seconds(value: str) -> float:
    """'01:02:03.5', '02:03,5', '12.5s' or '12.5' as seconds."""
    value = value.strip().rstrip("s").replace(",", ".")
    total = 0.0
    for part in value.split(":"):
        total = total * 60 + float(part)
    return total


def estimate_segments(text: str, duration: float | None) -> list[Segment]:
    """One segment per sentence, the duration shared out by length: an honest approximation."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    if not sentences:
        return []
    total_chars = sum(len(s) for s in sentences)
    span = duration if duration and duration > 0 else total_chars / SPEECH_CHARS_PER_SECOND
    segments, start = [], 0.0
    for sentence in sentences:
        end = start + span * len(sentence) / total_chars
        segments.append(Segment(start=round(start, 3), end=round(end, 3), text=sentence))
        start = end
    return segments


def segments_from_dicts(
    items: Sequence[Any], duration: float | None = None
) -> list[Segment] | None:
    """Segments from [{start, end, text}, ...]; None when the items do not have that shape.

    Times are made usable whatever the server sent: a segment without a finite start keeps
    the time of the one before it, times are kept within 0 and `duration` (when known), and
    the segments come back in time order, every word kept."""
    raw: list[tuple[float | None, float | None, str]] = []
    for item in items:
        if not isinstance(item, dict) or "start" not in item or "text" not in item:
            return None
        start, end = _number(item["start"]), _number(item.get("end"))
        if start is None and item["start"] is not None and not _is_number_text(item["start"]):
            return None
        text = str(item["text"]).strip()
        if text:
            raw.append((start, end, text))
    limit = duration if duration is not None and duration > 0 else math.inf
    segments, previous = [], 0.0
    for start, end, text in raw:
        start = min(max(0.0, start if start is not None else previous), limit)
        end = min(max(start, end if end is not None else start), limit)
        segments.append(Segment(start=start, end=end, text=text))
        previous = end
    segments.sort(key=lambda segment: segment.start)  # stable: equal starts keep their order
    return segments


def _is_number_text(value: Any) -> bool:
    """'NaN' and 'inf' are numbers, just not usable times; 'abc' is not a time at all."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def from_json_payload(
    data: dict[str, Any], duration_hint: float | None = None
) -> ParsedTranscript | None:
    """OpenAI verbose_json / json shapes; None when `data` is neither."""
    text = data.get("text")
    raw_segments = data.get("segments")
    if not isinstance(text, str) and not isinstance(raw_segments, list):
        return None
    duration = _number(data.get("duration")) or duration_hint
    language = data.get("language") if isinstance(data.get("language"), str) else None
    limit = duration_hint or duration
    segments = segments_from_dicts(raw_segments, limit) if isinstance(raw_segments, list) else None
    text = text if isinstance(text, str) else " ".join(s.text for s in segments or [])
    if segments is None or (not segments and text.strip()):
        return ParsedTranscript(estimate_segments(text, duration), text, language, duration, True)
    return ParsedTranscript(segments, text, language, duration, False)


def from_timed_text(text: str) -> list[Segment] | None:
    """Segments from lines carrying start and end times (SRT-like too); None if there are none."""
    segments: list[Segment] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _TIMED_LINE.match(lines[index])
        index += 1
        if not match:
            continue
        body = [match.group("text").strip()] if match.group("text").strip() else []
        while not body and index < len(lines) and lines[index].strip():
            # SRT and VTT put the words on the lines after the times.
            while index < len(lines) and lines[index].strip():
                body.append(lines[index].strip())
                index += 1
        start, end = seconds(match.group("start")), seconds(match.group("end"))
        if body:
            segments.append(Segment(start=start, end=max(start, end), text=" ".join(body)))
    return segments or None


def parse_transcript_text(text: str, duration_hint: float | None = None) -> ParsedTranscript:
    """Whatever a provider returned as text: JSON with segments, timed lines, or plain words."""
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            parsed = from_json_payload(data, duration_hint)
            if parsed is not None:
                return parsed
        if isinstance(data, list):
            segments = segments_from_dicts(data, duration_hint)
            if segments is not None:
                joined = " ".join(s.text for s in segments)
                return ParsedTranscript(segments, joined, None, duration_hint, False)
    timed = from_timed_text(stripped)
    if timed:
        return ParsedTranscript(timed, " ".join(s.text for s in timed), None, duration_hint, False)
    estimated = estimate_segments(stripped, duration_hint)
    return ParsedTranscript(estimated, stripped, None, duration_hint, True)


def _number(value: Any) -> float | None:
    """A finite number, or None (NaN and infinities are not times)."""
    try:
        number = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None
