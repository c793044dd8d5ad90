"""Request-level retries for cloud engines: transient errors only, Retry-After honoured."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    stop_after_attempt,
    wait_random_exponential,
)

from bulk_transcribe import workscope
from bulk_transcribe.errors import Cancelled, PermanentError, TranscribeError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # per request; the runner retries the whole item on top of this
    base_seconds: float = 1.0
    max_seconds: float = 30.0
    # A Retry-After longer than this is not slept through here: the error goes to the runner,
    # which requeues the item and honours the wait without holding a worker.
    max_retry_after: float = 120.0
    # A 2xx answer that could not be read was transcribed, and charged, all the same: it is
    # asked for again this many times, not `attempts` times (the runner may retry the item).
    paid_retries: int = 1


def _is_retryable(policy: RetryPolicy) -> Callable[[BaseException], bool]:
    def check(exc: BaseException) -> bool:
        if isinstance(exc, Cancelled) or not isinstance(exc, TranscribeError):
            return False
        if not exc.transient:
            return False
        return exc.retry_after is None or exc.retry_after <= policy.max_retry_after

    return check


def _should_retry(policy: RetryPolicy) -> Callable[[RetryCallState], bool]:
    retryable = _is_retryable(policy)

    def should(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if exc is None or not retryable(exc):
            return False
        return not getattr(exc, "paid", False) or state.attempt_number <= policy.paid_retries

    return should


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=policy.base_seconds, max=policy.max_seconds)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None) or 0.0
        return max(backoff(state), retry_after)

    return wait


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.info("retrying in %.1f s after: %s", wait, exc)


def call_with_retries(policy: RetryPolicy, action: Callable[[], T]) -> T:
    """Run `action`, retrying transient TranscribeErrors with jittered backoff."""
    retrying = Retrying(
        # Back-offs and Retry-After waits end the moment the item is cancelled.
        sleep=workscope.sleep,
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=_wait(policy),
        retry=_should_retry(policy),
        before_sleep=_log_retry,
        reraise=True,
    )
    try:
        return retrying(action)
    except TranscribeError as exc:
        if not getattr(exc, "paid", False):
            raise
        # Answers that were charged and still unreadable: trying the item again (the runner
        # would, twice) pays again for more of the same; the user decides (--retry-failed).
        failure = PermanentError(
            exc.kind,
            f"{exc.message}; not asked for again, since each answer is charged: "
            "`resume --retry-failed` tries once more",
        )
        failure.charged_unreadable = True  # type: ignore[attr-defined]  # the runner counts them
        raise failure from None
