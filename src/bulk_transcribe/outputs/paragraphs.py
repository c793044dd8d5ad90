"""Group a transcript's segments into paragraphs a person can read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bulk_transcribe.models import Transcript

PAUSE_BREAK_SECONDS = 2.0
SOFT_PARAGRAPH_CHARS = 600
# Captions often carry no punctuation at all; past this length break anyway.
HARD_PARAGRAPH_CHARS = 1000
_MAX_PIECE_CHARS = 200  # unpunctuated runs are cut into pieces this long before grouping

_SENTENCE_END = re.compile(r"""[.!?…]["'”’)\]]*$""")
_SENTENCE_SPLIT = re.compile(r"""(?<=[.!?…])["'”’)\]]*\s+""")


@dataclass(frozen=True)
class Paragraph:
    start: float  # seconds into the recording where its first segment starts
    text: str


def split_paragraphs(transcript: Transcript) -> list[str]:
    return [paragraph.text for paragraph in split_timed_paragraphs(transcript)]


def split_timed_paragraphs(transcript: Transcript) -> list[Paragraph]:
    paragraphs: list[list[str]] = []
    starts: list[float] = []
    length = 0
    for piece, after_pause, start in _pieces(transcript):
        if not paragraphs or after_pause or _should_break(paragraphs[-1], length):
            paragraphs.append([])
            starts.append(start)
            length = 0
        paragraphs[-1].append(piece)
        length += len(piece) + 1
    return [
        Paragraph(start, " ".join(words)) for start, words in zip(starts, paragraphs, strict=True)
    ]


def _should_break(current: list[str], length: int) -> bool:
    if length >= HARD_PARAGRAPH_CHARS:
        return True
    return length >= SOFT_PARAGRAPH_CHARS and bool(_SENTENCE_END.search(current[-1]))


def _pieces(transcript: Transcript) -> Iterator[tuple[str, bool, float]]:
    """Sentences (or sentence fragments), whether a long pause comes before them, and the
    start of the segment they are in.

    Segments are split into sentences so that one huge segment, as some APIs return,
    still becomes several paragraphs.
    """
    previous_end: float | None = None
    for segment in transcript.segments:
        text = " ".join(segment.text.split())
        if not text:
            continue
        paused = previous_end is not None and segment.start - previous_end >= PAUSE_BREAK_SECONDS
        previous_end = segment.end
        for index, sentence in enumerate(_split_sentences(text)):
            yield sentence, paused and index == 0, segment.start


def _split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_SPLIT.finditer(text):
        # Keep closing quotes with their sentence; split only on the whitespace after.
        end = match.start() + len(match.group().rstrip())
        sentences.append(text[start:end])
        start = match.end()
    sentences.append(text[start:])
    return [piece for s in sentences if s for piece in _split_long(s)]


def _split_long(sentence: str) -> Iterator[str]:
    words: list[str] = []
    length = 0
    for word in sentence.split(" "):
        if words and length + len(word) > _MAX_PIECE_CHARS:
            yield " ".join(words)
            words, length = [], 0
        words.append(word)
        length += len(word) + 1
    if words:
        yield " ".join(words)
