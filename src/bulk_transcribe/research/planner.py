"""A chat model (any OpenAI-compatible endpoint) turns a research question into searches and
scores found videos for relevance, in batches, with a reason each.

Every answer is validated against a JSON schema and asked for once more if it does not fit
(chat.py, which also keeps each request inside the endpoint's budget);
when the second answer fails too, the question is searched as written, or the batch is left
unscored: results are never dropped because a model misbehaved. Token use and cost are
estimated before and counted after.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, Field

from bulk_transcribe.chat.client import (
    CHARS_PER_TOKEN,
    ChatClient,
    Usage,
    chars,
    chat_configured,
    price,
)
from bulk_transcribe.plurals import counted
from bulk_transcribe.research.candidates import Candidate
from bulk_transcribe.settings import Settings

if TYPE_CHECKING:
    from bulk_transcribe.chat.client import LimiterStats

__all__ = ["ChatPlanner", "Estimate", "Plan", "Scoring", "Usage", "chat_configured", "price"]

Answer = TypeVar("Answer", bound="BaseModel")

MAX_QUERIES = 5
SCORE_BATCH = 10
PLAN_TOKENS_PER_QUERY = 20
SCORE_TOKENS_PER_VIDEO = 45


class PlanAnswer(BaseModel):
    queries: list[str] = Field(min_length=1, max_length=10)


class VideoScore(BaseModel):
    id: str
    relevance: float = Field(ge=0, le=1)
    reason: str = Field(min_length=1, max_length=500)


class ScoreAnswer(BaseModel):
    scores: list[VideoScore]


PLAN_PROMPT = (
    "You help a researcher find YouTube videos. Turn their research question into at most {n} "
    "distinct, short YouTube search queries that together cover it. Answer with JSON only, "
    "matching this JSON schema:\n{schema}"
)
SCORE_PROMPT = (
    "You judge how relevant YouTube videos are to a research question, from 0 (irrelevant) "
    "to 1 (exactly on topic), with a one-sentence reason each. Score every video given. "
    "Answer with JSON only, matching this JSON schema:\n{schema}"
)


@dataclass(frozen=True)
class Estimate:
    calls: int
    input_tokens: int
    output_tokens: int
    cost: float | None  # None when no prices are configured

    def describe(self) -> str:
        money = f", about ${self.cost:.4f}" if self.cost is not None else ""
        return (
            f"about {counted(self.calls, 'call')}, ~{self.input_tokens:,} input + "
            f"~{self.output_tokens:,} output tokens{money}"
        )


@dataclass
class Plan:
    queries: list[str]
    usage: Usage
    problem: str | None = None  # why the question is searched as written


@dataclass
class Scoring:
    videos: list[Candidate]
    usage: Usage
    problems: list[str] = field(default_factory=list)

    @property
    def unscored(self) -> int:
        return sum(v.relevance is None for v in self.videos)


class ChatPlanner:
    """Owns one OpenAI SDK client; close it (or use `with`)."""

    def __init__(self, settings: Settings):
        if not chat_configured(settings):
            raise ValueError("set chat_model and chat_api_base to plan and score")
        self.settings = settings
        self._chat = ChatClient(settings)

    def close(self) -> None:
        self._chat.close()

    def budget(self) -> LimiterStats:
        """Where the chat endpoint's shared request budget stands."""
        return self._chat.budget()

    def __enter__(self) -> ChatPlanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- estimates before ------------------------------------------------------------------

    def estimate_plan(self, question: str) -> Estimate:
        prompt = self._plan_messages(question)
        return self._estimate(1, chars(prompt), MAX_QUERIES * PLAN_TOKENS_PER_QUERY)

    def estimate_scoring(self, question: str, videos: Sequence[Candidate]) -> Estimate:
        batches = [videos[i : i + SCORE_BATCH] for i in range(0, len(videos), SCORE_BATCH)]
        size = sum(chars(self._score_messages(question, batch)) for batch in batches)
        return self._estimate(len(batches), size, len(videos) * SCORE_TOKENS_PER_VIDEO)

    def _estimate(self, calls: int, size: int, output_tokens: int) -> Estimate:
        input_tokens = size // CHARS_PER_TOKEN
        return Estimate(
            calls, input_tokens, output_tokens, price(self.settings, input_tokens, output_tokens)
        )

    # --- planning --------------------------------------------------------------------------

    def plan(self, question: str) -> Plan:
        usage = Usage()
        answer, problem = self._ask(self._plan_messages(question), PlanAnswer, usage)
        if answer is None:
            return Plan([question.strip()], usage, f"searched the question as written: {problem}")
        queries = list(dict.fromkeys(q.strip() for q in answer.queries if q.strip()))
        return Plan(queries[:MAX_QUERIES] or [question.strip()], usage)

    def _plan_messages(self, question: str) -> list[dict[str, str]]:
        schema = json.dumps(PlanAnswer.model_json_schema())
        return [
            {"role": "system", "content": PLAN_PROMPT.format(n=MAX_QUERIES, schema=schema)},
            {"role": "user", "content": question.strip()},
        ]

    # --- scoring ---------------------------------------------------------------------------

    def score(self, question: str, videos: Sequence[Candidate]) -> Scoring:
        usage = Usage()
        scored: list[Candidate] = []
        problems: list[str] = []
        for start in range(0, len(videos), SCORE_BATCH):
            batch = list(videos[start : start + SCORE_BATCH])
            answer, problem = self._ask(self._score_messages(question, batch), ScoreAnswer, usage)
            if answer is None:
                problems.append(f"videos {start + 1}-{start + len(batch)} left unscored: {problem}")
                scored += batch
                continue
            by_id = {s.id: s for s in answer.scores}
            for video in batch:
                found = by_id.get(video.video_id)
                scored.append(
                    replace(video, relevance=found.relevance, reason=found.reason)
                    if found
                    else video
                )
        return Scoring(scored, usage, problems)

    def _score_messages(self, question: str, batch: Sequence[Candidate]) -> list[dict[str, str]]:
        schema = json.dumps(ScoreAnswer.model_json_schema())
        listing = [
            {
                "id": v.video_id,
                "title": v.title,
                "channel": v.channel,
                "minutes": round(v.duration / 60) if v.duration else None,
                "description": (v.description or "")[:300],
            }
            for v in batch
        ]
        question_and_videos = f"Research question: {question.strip()}\nVideos:\n" + json.dumps(
            listing, ensure_ascii=False
        )
        return [
            {"role": "system", "content": SCORE_PROMPT.format(schema=schema)},
            {"role": "user", "content": question_and_videos},
        ]

    # --- one question, asked at most twice -------------------------------------------------

    def _ask(
        self, messages: list[dict[str, str]], schema: type[Answer], usage: Usage
    ) -> tuple[Answer | None, str | None]:
        return self._chat.ask(messages, schema, usage)
