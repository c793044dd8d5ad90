"""SRT and WebVTT subtitles with cues short enough to read: <= 7 s, <= 2 lines of 42 chars."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bulk_transcribe.models import Segment, Transcript

MAX_CUE_MS = 7000
MIN_CUE_MS = 100
MAX_LINE_CHARS = 42
MAX_LINES = 2
MIN_ONE_WORD_CUE_MS = 1000  # a lone word shown for less than this flashes by unread
# What a cut costs (see _chunk_cost): a cue more costs more than any one bad cut, so cues
# stay as few as the limits allow; among those, cuts fall at sentence and clause ends.
CUE_COST = 10.0
CLAUSE_CUT_COST = 1.0
BEFORE_CONJUNCTION_CUT_COST = 2.5
MID_CLAUSE_CUT_COST = 6.0
ONE_WORD_CUE_COST = 8.0
SHORT_CUE_CHARS = 16
SHORT_CUE_COST = 3.0
SENTENCE_END_MARKS = (".", "!", "?", "…", '."', '?"', '!"', ".”", "?”", "!”")
CLAUSE_END_MARKS = (",", ";", ":", "–", "—", "-", ",”", ',"')
CLAUSE_STARTS = frozenset(
    ("and", "but", "or", "so", "because", "which", "who", "that", "when", "while", "if")
)
MAX_JOIN_GAP_MS = 1000  # a lone word is not joined across a longer pause


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    lines: list[str]
    speaker: int | None = None


_Raw = tuple[int, int, list[str], int | None]  # start ms, end ms, lines, speaker


def build_cues(transcript: Transcript) -> list[Cue]:
    raw: list[_Raw] = []
    for segment in transcript.segments:
        raw.extend(_segment_pieces(segment))
    return _fix_timing(_absorb_lone_words(raw))


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
        + _voice_tag(c)
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


def _voice_tag(cue: Cue) -> str:
    """WebVTT's voice span names who speaks; players show or style it."""
    return f"<v Speaker {cue.speaker}>" if cue.speaker is not None else ""


def _segment_pieces(segment: Segment) -> list[_Raw]:
    """Split one segment at word boundaries, timing pieces by their share of its characters."""
    words = segment.text.split()
    if not words:
        return []
    start_ms = round(segment.start * 1000)
    duration_ms = max(0, round(segment.end * 1000) - start_ms)
    total_chars = len(" ".join(words))
    pieces = []
    offset = 0
    for chunk in _best_chunks(words, duration_ms):
        span = len(" ".join(chunk)) + 1  # the space after a piece belongs to it
        end_offset = min(total_chars, offset + span)
        pieces.append(
            (
                start_ms + duration_ms * offset // total_chars,
                start_ms + duration_ms * end_offset // total_chars,
                wrap_lines(chunk) or chunk,
                segment.speaker,
            )
        )
        offset += span
    return pieces


def _best_chunks(words: list[str], duration_ms: int) -> list[list[str]]:
    """The cheapest way to cut a segment's words into cues that fit (see _chunk_cost).

    Dynamic programming over cut positions; segments are a sentence or two, so the
    quadratic search is small.
    """
    total_chars = len(" ".join(words))
    best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * len(words)
    for end in range(1, len(words) + 1):
        for start in range(end - 1, -1, -1):
            chunk = words[start:end]
            chars = len(" ".join(chunk))
            if start < end - 1 and not _fits(chunk, chars, duration_ms, total_chars):
                break  # a longer chunk ending here fits no better
            cost = best[start][0] + _chunk_cost(words, start, end, chars)
            if cost < best[end][0]:
                best[end] = (cost, start)
    chunks: list[list[str]] = []
    end = len(words)
    while end > 0:
        start = best[end][1]
        chunks.append(words[start:end])
        end = start
    return chunks[::-1]


def _fits(chunk: list[str], chars: int, duration_ms: int, total_chars: int) -> bool:
    too_long = duration_ms * chars > MAX_CUE_MS * total_chars
    return not too_long and wrap_lines(chunk) is not None


def _chunk_cost(words: list[str], start: int, end: int, chars: int) -> float:
    """Fewer cues first; then cut where the speech pauses (sentence, clause), avoid runts."""
    cost = CUE_COST
    if end < len(words):
        last, following = words[end - 1], words[end]
        if last.endswith(SENTENCE_END_MARKS):
            pass
        elif last.endswith(CLAUSE_END_MARKS):
            cost += CLAUSE_CUT_COST
        elif following.lower() in CLAUSE_STARTS:
            cost += BEFORE_CONJUNCTION_CUT_COST
        else:
            cost += MID_CLAUSE_CUT_COST
    if len(words) > 1 and end - start == 1:
        cost += ONE_WORD_CUE_COST
    if chars < SHORT_CUE_CHARS and len(words) > end - start:
        cost += SHORT_CUE_COST
    return cost


def _absorb_lone_words(raw: list[_Raw]) -> list[_Raw]:
    """A one-word cue too short to read joins a neighbour it fits with, or is held longer.

    Only a transcript whose speech is that one word keeps such a cue as it is.
    """
    cues = list(raw)
    index = 0
    while index < len(cues):
        start, end, lines, speaker = cues[index]
        words = " ".join(lines).split()
        if len(words) != 1 or end - start >= MIN_ONE_WORD_CUE_MS or len(cues) == 1:
            index += 1
            continue
        merged = _merge_with_neighbour(cues, index)
        if merged is not None:
            index = merged
            continue
        next_start = cues[index + 1][0] if index + 1 < len(cues) else None
        longest = start + MIN_ONE_WORD_CUE_MS
        held_until = longest if next_start is None else min(longest, next_start)
        cues[index] = (start, held_until, lines, speaker)
        index += 1
    return cues


def _merge_with_neighbour(cues: list[_Raw], index: int) -> int | None:
    """Join cue `index` to the closer neighbour of the same speaker if the result fits; the
    joined cue's index."""
    start, end, _, speaker = cues[index]
    options = []
    if index > 0:
        options.append((start - cues[index - 1][1], index - 1))
    if index + 1 < len(cues):
        options.append((cues[index + 1][0] - end, index + 1))
    for gap, other in sorted(options):
        if gap > MAX_JOIN_GAP_MS:
            break
        first, second = sorted((index, other))
        if cues[other][3] != speaker:
            continue
        words = " ".join([*cues[first][2], *cues[second][2]]).split()
        wrapped = wrap_lines(words)
        span = cues[second][1] - cues[first][0]
        if wrapped is not None and span <= MAX_CUE_MS:
            cues[first : second + 1] = [(cues[first][0], cues[second][1], wrapped, speaker)]
            return first
    return None


def _fix_timing(raw: list[_Raw]) -> list[Cue]:
    """Make starts non-decreasing with room for a minimum cue, then clamp ends."""
    starts: list[int] = []
    for start, _, _, _ in raw:
        floor = starts[-1] + MIN_CUE_MS if starts else 0
        starts.append(max(start, floor))
    cues = []
    for index, (start, (_, end, lines, speaker)) in enumerate(zip(starts, raw, strict=True)):
        end = min(max(end, start + MIN_CUE_MS), start + MAX_CUE_MS)
        if index + 1 < len(starts):
            end = min(end, starts[index + 1])
        cues.append(Cue(start, end, lines, speaker))
    return cues


def _timestamp(ms: int, separator: str) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
