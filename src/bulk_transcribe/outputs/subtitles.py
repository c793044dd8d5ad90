"""SRT and WebVTT subtitles with cues short enough to read: <= 7 s, <= 2 lines of 42 chars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bulk_transcribe.models import Segment, Transcript

MAX_CUE_MS = 7000
MIN_CUE_MS = 100
MAX_LINE_CHARS = 42
MAX_LINES = 2
_BALANCE_SLACK = 1.15  # how far above the average length a balanced cue may run


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: list[str]


def build_cues(transcript: Transcript) -> list[Cue]:
    raw: list[tuple[int, int, list[str]]] = []
    for segment in transcript.segments:
        raw.extend(_segment_pieces(segment))
    return _fix_timing(raw)


def render_srt(transcript: Transcript) -> str:
    blocks = [
        f"{n}\n{_timestamp(c.start_ms, ',')} --> {_timestamp(c.end_ms, ',')}\n"
        + "\n".join(c.lines)
        + "\n"
        for n, c in enumerate(build_cues(transcript), start=1)
    ]
    return "\n".join(blocks)


def render_vtt(transcript: Transcript) -> str:
    blocks = [
        f"{_timestamp(c.start_ms, '.')} --> {_timestamp(c.end_ms, '.')}\n"
        + "\n".join(_escape_vtt(line) for line in c.lines)
        + "\n"
        for c in build_cues(transcript)
    ]
    return "\n".join(["WEBVTT\n", *blocks])


def wrap_lines(words: list[str]) -> list[str] | None:
    """The most balanced split into at most two lines, or None if the words do not fit."""
    text = " ".join(words)
    if len(text) <= MAX_LINE_CHARS or len(words) == 1:
        return [text]  # a single overlong word may stand alone
    best: tuple[int, list[str]] | None = None
    for split in range(1, len(words)):
        first, second = " ".join(words[:split]), " ".join(words[split:])
        longest = max(len(first), len(second))
        if longest <= MAX_LINE_CHARS and (best is None or longest < best[0]):
            best = (longest, [first, second])
    return best[1] if best else None


def _segment_pieces(segment: Segment) -> list[tuple[int, int, list[str]]]:
    """Split one segment at word boundaries, timing pieces by their share of its characters."""
    words = segment.text.split()
    if not words:
        return []
    start_ms = round(segment.start * 1000)
    duration_ms = max(0, round(segment.end * 1000) - start_ms)
    total_chars = len(" ".join(words))

    def fits(chunk: list[str], chars: int) -> bool:
        too_long = duration_ms * chars > MAX_CUE_MS * total_chars
        return wrap_lines(chunk) is not None and (len(chunk) == 1 or not too_long)

    chunks = _chunk(words, fits)
    if len(chunks) > 1:
        # Greedy chunks leave a runt at the end; retry with an even share per cue.
        target = _BALANCE_SLACK * total_chars / len(chunks)
        balanced = _chunk(words, lambda c, n: fits(c, n) and (len(c) == 1 or n <= target))
        if len(balanced) == len(chunks):
            chunks = balanced
    pieces = []
    offset = 0
    for chunk in chunks:
        span = len(" ".join(chunk)) + 1  # the space after a piece belongs to it
        end_offset = min(total_chars, offset + span)
        pieces.append(
            (
                start_ms + duration_ms * offset // total_chars,
                start_ms + duration_ms * end_offset // total_chars,
                wrap_lines(chunk) or chunk,
            )
        )
        offset += span
    return pieces


def _chunk(words: list[str], fits: Callable[[list[str], int], bool]) -> list[list[str]]:
    chunks: list[list[str]] = []
    current: list[str] = []
    for word in words:
        candidate = [*current, word]
        if current and not fits(candidate, len(" ".join(candidate)) + 1):
            chunks.append(current)
            candidate = [word]
        current = candidate
    if current:
        chunks.append(current)
    return chunks


def _fix_timing(raw: list[tuple[int, int, list[str]]]) -> list[Cue]:
    """Make starts non-decreasing with room for a minimum cue, then clamp ends."""
    starts: list[int] = []
    for start, _, _ in raw:
        floor = starts[-1] + MIN_CUE_MS if starts else 0
        starts.append(max(start, floor))
    cues = []
    for index, (start, (_, end, lines)) in enumerate(zip(starts, raw, strict=True)):
        end = min(max(end, start + MIN_CUE_MS), start + MAX_CUE_MS)
        if index + 1 < len(starts):
            end = min(end, starts[index + 1])
        cues.append(Cue(start, end, lines))
    return cues


def _timestamp(ms: int, separator: str) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
