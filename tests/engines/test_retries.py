"""Request-level retries: transient errors retried, Retry-After honoured, cancel obeyed."""

from __future__ import annotations

import threading

import pytest

from bulk_transcribe import workscope
from bulk_transcribe.engines.retries import RetryPolicy, call_with_retries
from bulk_transcribe.errors import Cancelled, ErrorKind, PermanentError, TransientError


def test_a_long_retry_after_wait_ends_when_the_item_is_cancelled() -> None:
    calls = []

    def refused() -> str:
        calls.append(1)
        raise TransientError(ErrorKind.RATE_LIMITED, "slow down", retry_after=100.0)

    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with workscope.scope(cancel=cancel), pytest.raises(Cancelled):
        call_with_retries(RetryPolicy(attempts=3, max_retry_after=120), refused)

    assert calls == [1]  # cancelled during the first wait; never asked again


def test_transient_errors_are_retried_and_permanent_ones_are_not() -> None:
    outcomes = iter([TransientError(ErrorKind.NETWORK, "reset"), "ok"])

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_with_retries(RetryPolicy(base_seconds=0.01, max_seconds=0.01), flaky) == "ok"

    calls = []

    def refused() -> str:
        calls.append(1)
        raise PermanentError(ErrorKind.AUTH, "bad key")

    with pytest.raises(PermanentError):
        call_with_retries(RetryPolicy(), refused)
    assert calls == [1]


def test_an_answer_charged_but_unreadable_is_tried_twice_then_left_to_the_user() -> None:
    from bulk_transcribe.engines.http_errors import unreadable_answer
    from bulk_transcribe.errors import PermanentError

    calls = []

    def cut_off() -> str:
        calls.append(1)
        raise unreadable_answer("custom", "not JSON")

    with pytest.raises(PermanentError) as caught:
        call_with_retries(RetryPolicy(attempts=4, base_seconds=0.001, max_seconds=0.002), cut_off)
    assert len(calls) == 2
    assert "--retry-failed" in caught.value.message
