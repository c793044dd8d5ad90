"""One OpenAI-compatible chat endpoint, asked for JSON that fits a schema, inside its budget.

Every request first takes a place in the endpoint's request budget (shared by every process
of this user, like the speech providers'; a 429 slows it down). An answer that does not fit
its schema is asked for once more; a 401/403/404 is not. Callers get None and the reason,
never an exception, so a model that misbehaves costs a feature, never the work around it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from bulk_transcribe.engines.http_errors import error_detail, parse_retry_after, scrub
from bulk_transcribe.figures import clock_time
from bulk_transcribe.plurals import counted
from bulk_transcribe.redact import redact_url
from bulk_transcribe.settings import Settings

if TYPE_CHECKING:
    from bulk_transcribe.runner.ratelimit import LimiterStats

log = logging.getLogger(__name__)
Answer = TypeVar("Answer", bound=BaseModel)

ATTEMPTS = 2  # the first answer and one retry
CHARS_PER_TOKEN = 4  # a rough, model-independent estimate for costs shown beforehand
BUDGET_WAIT_SECONDS = 120.0
# Requests in a row the model let time out before this client stops asking it: a summary per
# item of a long run must not wait out every one against a stalled endpoint.
GIVE_UP_AFTER_TIMEOUTS = 3  # longest wait for a place in the budget before giving up


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
            f"{counted(self.calls, 'call')}, {self.input_tokens:,} input + "
            f"{self.output_tokens:,} output tokens{money}"
        )


def chat_configured(settings: Settings) -> bool:
    return bool(settings.chat_model and settings.chat_api_base)


def price(settings: Settings, input_tokens: int, output_tokens: int) -> float | None:
    if settings.chat_input_price is None or settings.chat_output_price is None:
        return None
    return (
        input_tokens * settings.chat_input_price + output_tokens * settings.chat_output_price
    ) / 1_000_000


def chat_budget_id(settings: Settings) -> str:
    """One request budget per endpoint and key, as for transcription providers
    (presets.provider_id): two keys on one endpoint each have their own. The key never
    appears, only 10 hex digits of a hash it shares with the URL."""
    base = settings.chat_api_base or ""
    key = settings.chat_api_key.get_secret_value() if settings.chat_api_key else ""
    digest = hashlib.sha256(f"{base}\n{key}".encode()).hexdigest()[:10]
    return f"chat:{redact_url(base)}@{digest}"


class ChatClient:
    """Owns one OpenAI SDK client; close it (or use `with`)."""

    def __init__(self, settings: Settings):
        import openai  # imported where used: it slows every CLI start

        from bulk_transcribe.addresses import AddressPolicy
        from bulk_transcribe.net import guarded_client
        from bulk_transcribe.runner.ratelimit import default_budget_path, shared_limiter

        if not chat_configured(settings):
            raise ValueError("set chat_model and chat_api_base to use a chat model")
        self.settings = settings
        self._refused: str | None = None  # why the endpoint refused this key, once it has
        self._timeouts_in_a_row = 0  # requests the model did not answer in time, none since
        key = settings.chat_api_key.get_secret_value() if settings.chat_api_key else "none"
        self._secrets = [key]  # scrubbed from whatever the endpoint says back
        # Retries are ours (one, also for answers that do not fit the schema), not the SDK's.
        self._client = openai.OpenAI(
            base_url=settings.chat_api_base,
            api_key=key,
            timeout=settings.chat_timeout_seconds,
            max_retries=0,
            http_client=guarded_client(
                AddressPolicy.from_settings(settings),
                trusted=[settings.chat_api_base] if settings.chat_api_base else [],
                timeout=settings.chat_timeout_seconds,
            ),
        )
        self._limiter = shared_limiter(
            chat_budget_id(settings),
            settings.chat_rpm,
            window_seconds=settings.rate_window_seconds,
            quiet_seconds=settings.quiet_seconds,
            budget_path=settings.rate_limit_db or default_budget_path(),
            max_pause_seconds=settings.max_provider_pause_seconds,
        )

    def close(self) -> None:
        self._client.close()

    def _silent(self) -> str:
        waited = self.settings.chat_timeout_seconds
        return (
            f"the chat model did not answer within {waited:g} s, {GIVE_UP_AFTER_TIMEOUTS} times "
            "in a row: it is not asked again here (each wait may be charged); try later, or "
            "raise BULK_TRANSCRIBE_CHAT_TIMEOUT_SECONDS"
        )

    def budget(self) -> LimiterStats:
        """Where this endpoint's shared request budget stands."""
        return self._limiter.stats()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ask(
        self,
        messages: list[dict[str, str]],
        schema: type[Answer],
        usage: Usage,
        *,
        temperature: float = 0,
    ) -> tuple[Answer | None, str | None]:
        """The model's answer to `messages` as `schema`, or None and why not."""
        import openai

        from bulk_transcribe.errors import TranscribeError

        if self._refused is not None:  # the key or endpoint was refused: asking again cannot help
            return None, self._refused
        if self._timeouts_in_a_row >= GIVE_UP_AFTER_TIMEOUTS:
            return None, self._silent()
        problem = None
        for attempt in range(ATTEMPTS):
            try:
                self._limiter.acquire(timeout=BUDGET_WAIT_SECONDS)
            except TranscribeError as exc:
                return None, exc.message
            try:
                response = self._client.chat.completions.create(
                    model=self.settings.chat_model or "",
                    messages=messages,  # type: ignore[arg-type]
                    response_format={"type": "json_object"},
                    temperature=temperature,
                )
            except openai.APITimeoutError:
                waited = self.settings.chat_timeout_seconds
                problem = f"the chat model did not answer within {waited:g} s"
                self._timeouts_in_a_row += 1
                if self._timeouts_in_a_row >= GIVE_UP_AFTER_TIMEOUTS:
                    return None, self._silent()
                continue
            except openai.APIStatusError as exc:
                self._limiter.observe(exc.response)  # a 429 slows the budget down
                problem = f"the chat endpoint answered {exc.status_code}"
                wait = parse_retry_after(exc.response.headers)
                if wait is not None and wait > self.settings.max_provider_pause_seconds:
                    until = clock_time(time.time() + wait)
                    return None, (
                        f"the chat endpoint asked to wait {wait:,.0f} s (until {until}), longer "
                        "than a run waits: try again after then"
                    )
                if exc.status_code in (401, 403, 404):
                    # A wrong key, model or URL: neither this question nor the next can pass.
                    self._refused = problem = _refusal(
                        exc.status_code, exc.response.content, self._secrets
                    )
                    break
                continue
            except (openai.APIError, ValueError) as exc:  # connection, undecodable body
                problem = f"no usable answer from the chat endpoint ({type(exc).__name__})"
                continue
            self._timeouts_in_a_row = 0
            usage.calls += 1
            if response.usage is not None:
                usage.input_tokens += response.usage.prompt_tokens or 0
                usage.output_tokens += response.usage.completion_tokens or 0
            if not response.choices:  # a 200 carrying an error (a proxy, an overloaded model)
                detail = scrub(
                    error_detail(json.dumps(response.model_extra or {}))[0], self._secrets
                )
                problem = f"the chat endpoint answered without a choice ({detail or 'empty'})"
                continue
            choice = response.choices[0]
            content = choice.message.content or ""
            if choice.finish_reason == "length":
                # Cut at the model's output limit: the same request would be cut the same way,
                # so it is not paid for twice.
                return None, (
                    f"the answer was cut off at the model's output limit after "
                    f"{counted(response.usage.completion_tokens if response.usage else 0, 'token')}"
                    " (finish_reason: length): choose a model with a larger output limit"
                )
            try:
                return schema.model_validate_json(strip_fence(content)), None
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "answer"
                problem = f"the answer did not match the schema ({where}: {first['msg']})"
                log.info("attempt %d: %s", attempt + 1, problem)
        return None, problem


def _refusal(status: int, body: bytes, secrets: list[str]) -> str:
    detail = scrub(error_detail(body)[0], secrets)
    said = f" ({detail})" if detail else ""
    if status == 404:
        return (
            f"the chat endpoint answered 404{said}: check BULK_TRANSCRIBE_CHAT_API_BASE and "
            "BULK_TRANSCRIBE_CHAT_MODEL"
        )
    what = "rejected the key" if status == 401 else "refused access"
    return f"the chat endpoint {what} (HTTP {status}){said}: check BULK_TRANSCRIBE_CHAT_API_KEY"


def strip_fence(content: str) -> str:
    """Models often wrap JSON in a ```json fence even when asked not to."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def chars(messages: Sequence[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", ""))) for m in messages)
