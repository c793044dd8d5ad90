"""A chat model (any OpenAI-compatible endpoint) turns a research question into searches and
scores found videos for relevance, in batches, with a reason each.

Every answer is validated against a JSON schema and asked for once more if it does not fit;
when the second answer fails too, the question is searched as written, or the batch is left
unscored: results are never dropped because a model misbehaved. Token use and cost are
estimated before and counted after.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from bulk_transcribe.engines.http_errors import parse_retry_after
from bulk_transcribe.net import provider_client
from bulk_transcribe.research.candidates import Candidate
from bulk_transcribe.runner.ratelimit import RateLimitHook
from bulk_transcribe.settings import Settings

log = logging.getLogger(__name__)
Answer = TypeVar("Answer", bound="BaseModel")

MAX_QUERIES = 5
SCORE_BATCH = 10
ATTEMPTS = 2  # the first answer and one retry
CHARS_PER_TOKEN = 4  # a rough, model-independent estimate for costs shown beforehand
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


@dataclass
class Usage:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def cost(self, settings: Settings) -> float | None:
        return price(settings, self.input_tokens, self.output_tokens)

    def describe(self, settings: Settings) -> str:
        spent = self.cost(settings)
        money = f", ${spent:.4f}" if spent is not None else ""
        return (
            f"{self.calls} call(s), {self.input_tokens:,} input + "
            f"{self.output_tokens:,} output tokens{money}"
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
            f"about {self.calls} call(s), ~{self.input_tokens:,} input + "
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


def chat_provider_id(api_base: str, key: str) -> str:
    """The budget of one chat endpoint and key (the key itself never leaves this hash)."""
    return "chat@" + hashlib.sha256(f"{api_base}\n{key}".encode()).hexdigest()[:12]


def chat_configured(settings: Settings) -> bool:
    return bool(settings.chat_model and settings.chat_api_base)


def price(settings: Settings, input_tokens: int, output_tokens: int) -> float | None:
    if settings.chat_input_price is None or settings.chat_output_price is None:
        return None
    return (
        input_tokens * settings.chat_input_price + output_tokens * settings.chat_output_price
    ) / 1_000_000


class ChatPlanner:
    """Owns one OpenAI SDK client; close it (or use `with`)."""

    def __init__(self, settings: Settings):
        import openai  # imported where used: it slows every CLI start

        if not chat_configured(settings):
            raise ValueError("set chat_model and chat_api_base to plan and score")
        self.settings = settings
        key = settings.chat_api_key.get_secret_value() if settings.chat_api_key else "none"
        # Every request through the shared budget of this endpoint and key: a 429's
        # Retry-After pauses it (bounded by the longest pause a run waits), so the one
        # re-ask below never goes out at once after a 429.
        self._limits = RateLimitHook.for_settings(settings)
        self._provider_id = chat_provider_id(settings.chat_api_base or "", key)
        self._limits.set_limit(self._provider_id, None)
        http_client = provider_client(
            self._provider_id, self._limits, timeout=settings.chat_timeout_seconds
        )
        # Retries are ours (one, also for answers that do not fit the schema), not the SDK's.
        self._client = openai.OpenAI(
            base_url=settings.chat_api_base,
            api_key=key,
            timeout=settings.chat_timeout_seconds,
            max_retries=0,
            http_client=http_client,
        )

    def close(self) -> None:
        self._client.close()
        self._limits.close()

    def __enter__(self) -> ChatPlanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- estimates before ------------------------------------------------------------------

    def estimate_plan(self, question: str) -> Estimate:
        prompt = self._plan_messages(question)
        return self._estimate(1, _chars(prompt), MAX_QUERIES * PLAN_TOKENS_PER_QUERY)

    def estimate_scoring(self, question: str, videos: Sequence[Candidate]) -> Estimate:
        batches = [videos[i : i + SCORE_BATCH] for i in range(0, len(videos), SCORE_BATCH)]
        chars = sum(_chars(self._score_messages(question, batch)) for batch in batches)
        return self._estimate(len(batches), chars, len(videos) * SCORE_TOKENS_PER_VIDEO)

    def _estimate(self, calls: int, chars: int, output_tokens: int) -> Estimate:
        input_tokens = chars // CHARS_PER_TOKEN
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
        import openai

        problem = None
        for attempt in range(ATTEMPTS):
            try:
                response = self._client.chat.completions.create(
                    model=self.settings.chat_model or "",
                    messages=messages,  # type: ignore[arg-type]
                    response_format={"type": "json_object"},
                    temperature=0,
                )
            except openai.APITimeoutError:
                waited = self.settings.chat_timeout_seconds
                problem = f"the chat model did not answer within {waited:g} s"
                continue
            except openai.APIStatusError as exc:
                problem = f"the chat endpoint answered {exc.status_code}"
                if exc.status_code in (401, 402, 403, 404):
                    break  # a wrong key, model or URL, no credit: asking again will not help
                waited = parse_retry_after(exc.response.headers)
                if exc.status_code == 429 and (
                    waited is not None and waited > self.settings.max_provider_pause_seconds
                ):
                    problem += f" and asked to wait {waited:,.0f} s"
                    break  # not worth waiting for; the budget is paused meanwhile
                continue
            except (openai.APIError, ValueError) as exc:  # connection, undecodable body
                problem = f"no usable answer from the chat endpoint ({type(exc).__name__})"
                continue
            usage.calls += 1
            if response.usage is not None:
                usage.input_tokens += response.usage.prompt_tokens or 0
                usage.output_tokens += response.usage.completion_tokens or 0
            content = (response.choices[0].message.content or "") if response.choices else ""
            try:
                return schema.model_validate_json(_strip_fence(content)), None
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "answer"
                problem = f"the answer did not match the schema ({where}: {first['msg']})"
                log.info("attempt %d: %s", attempt + 1, problem)
        return None, problem


def _strip_fence(content: str) -> str:
    """Models often wrap JSON in a ```json fence even when asked not to."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def _chars(messages: Sequence[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", ""))) for m in messages)
