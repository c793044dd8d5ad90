"""A transcript's summary, key points and chapters, written by an OpenAI-compatible chat model.

A long transcript is summarised in parts that fit the model's context (each part's segments,
with their times, as the model reads them); the parts' summaries are then combined into one,
and the chapters of every part are kept in order. Chapter times are checked against the part
they came from: a time the model invented outside it is dropped. Every request goes through
the chat client's budget (chat.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from bulk_transcribe.chat.client import ChatClient, Usage
from bulk_transcribe.models import Chapter, Segment, Summary, Transcript

MAX_KEY_POINTS = 8


class SummaryFailed(Exception):
    """The model gave no usable summary; the message says why."""


class _ChapterAnswer(BaseModel):
    start: float = Field(ge=0)
    title: str = Field(min_length=1, max_length=200)


class _PartAnswer(BaseModel):
    summary: str = Field(min_length=1, max_length=4000)
    key_points: list[str] = Field(default_factory=list, max_length=20)
    chapters: list[_ChapterAnswer] = Field(default_factory=list, max_length=30)


class _CombinedAnswer(BaseModel):
    summary: str = Field(min_length=1, max_length=4000)
    key_points: list[str] = Field(default_factory=list, max_length=20)


PART_PROMPT = (
    "You summarise a transcript{part}. Each line starts with the second it was said at, in "
    "brackets. Write a short summary (2-4 sentences), up to {points} key points, and chapters "
    "where the subject changes: each chapter's start is the second of the line it begins at, "
    "as written in the brackets. Use only what the transcript says. Answer with JSON only, "
    "matching this JSON schema:\n{schema}"
)
COMBINE_PROMPT = (
    "These are summaries of consecutive parts of one transcript, in order. Write one short "
    "summary (3-5 sentences) of the whole and up to {points} key points, from these "
    "summaries only. Answer with JSON only, matching this JSON schema:\n{schema}"
)


@dataclass
class Summarizer:
    """Summaries with one chat client (owned by the caller)."""

    chat: ChatClient
    part_chars: int = 12_000  # of transcript per request: well inside small models' context
    usage: Usage = field(default_factory=Usage)

    def summarize(self, title: str, transcript: Transcript) -> Summary:
        """Raises SummaryFailed when the model gives nothing usable."""
        parts = split_parts(transcript.segments, self.part_chars)
        if not parts:
            raise SummaryFailed("the transcript has no words to summarise")
        answers = [self._part(title, part, n, len(parts)) for n, part in enumerate(parts, 1)]
        chapters = []
        for part, answer in zip(parts, answers, strict=True):
            chapters += _checked_chapters(answer.chapters, part)
        model = self.chat.settings.chat_model or ""
        if len(answers) == 1:
            (only,) = answers
            return Summary(only.summary.strip(), _points(only.key_points), chapters, model)
        combined = self._combine(title, answers)
        return Summary(
            combined.summary.strip(), _points(combined.key_points), chapters, model, len(parts)
        )

    def _part(
        self, title: str, segments: Sequence[Segment], number: int, total: int
    ) -> _PartAnswer:
        schema = json.dumps(_PartAnswer.model_json_schema())
        which = f" (part {number} of {total})" if total > 1 else ""
        lines = "\n".join(f"[{s.start:.0f}] {' '.join(s.text.split())}" for s in segments)
        messages = [
            {
                "role": "system",
                "content": PART_PROMPT.format(part=which, points=MAX_KEY_POINTS, schema=schema),
            },
            {"role": "user", "content": f"Title: {title}\n\n{lines}"},
        ]
        answer, problem = self.chat.ask(messages, _PartAnswer, self.usage)
        if answer is None:
            raise SummaryFailed(f"part {number} of {total}: {problem}")
        return answer

    def _combine(self, title: str, answers: Sequence[_PartAnswer]) -> _CombinedAnswer:
        schema = json.dumps(_CombinedAnswer.model_json_schema())
        listing = "\n\n".join(f"Part {n}: {a.summary}" for n, a in enumerate(answers, start=1))
        messages = [
            {
                "role": "system",
                "content": COMBINE_PROMPT.format(points=MAX_KEY_POINTS, schema=schema),
            },
            {"role": "user", "content": f"Title: {title}\n\n{listing}"},
        ]
        answer, problem = self.chat.ask(messages, _CombinedAnswer, self.usage)
        if answer is None:
            raise SummaryFailed(f"combining the parts: {problem}")
        return answer


def split_parts(segments: Sequence[Segment], part_chars: int) -> list[list[Segment]]:
    """Consecutive segments in parts of at most `part_chars` characters of text (a longer
    single segment is a part of its own)."""
    parts: list[list[Segment]] = []
    current: list[Segment] = []
    size = 0
    for segment in segments:
        if not segment.text.strip():
            continue
        length = len(segment.text) + 10  # the time in brackets and the line break
        if current and size + length > part_chars:
            parts.append(current)
            current, size = [], 0
        current.append(segment)
        size += length
    if current:
        parts.append(current)
    return parts


def _checked_chapters(found: Sequence[_ChapterAnswer], part: Sequence[Segment]) -> list[Chapter]:
    """Chapters inside the part they were read from, each at the start of a line, in order."""
    starts = [s.start for s in part]
    low, high = starts[0], part[-1].end
    kept: dict[float, Chapter] = {}
    for chapter in found:
        if not low - 1 <= chapter.start <= high:
            continue  # a time the part does not contain
        nearest = min(starts, key=lambda s: abs(s - chapter.start))
        kept.setdefault(nearest, Chapter(nearest, " ".join(chapter.title.split())))
    return [kept[start] for start in sorted(kept)]


def _points(points: Sequence[str]) -> list[str]:
    cleaned = [" ".join(p.split()) for p in points if p.strip()]
    return list(dict.fromkeys(cleaned))[:MAX_KEY_POINTS]
