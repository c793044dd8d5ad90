"""HTTP failures from providers become typed errors a user can act on, without secrets."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from bulk_transcribe.engines.http_errors import (
    error_for_status,
    error_for_transport,
    parse_retry_after,
    scrub,
)
from bulk_transcribe.errors import ErrorKind

SECRET = "sk-live-abcdef1234567890"


@pytest.mark.parametrize(
    ("status", "kind", "transient"),
    [
        (401, ErrorKind.AUTH, False),
        (402, ErrorKind.QUOTA, False),
        (403, ErrorKind.AUTH, False),
        (404, ErrorKind.NOT_FOUND, False),
        (413, ErrorKind.UNSUPPORTED, False),
        (422, ErrorKind.UNSUPPORTED, False),
        (429, ErrorKind.RATE_LIMITED, True),
        (500, ErrorKind.PROVIDER, True),
        (503, ErrorKind.PROVIDER, True),
        (504, ErrorKind.TIMEOUT, True),
    ],
)
def test_each_status_maps_to_a_kind_and_retryability(status, kind, transient):
    error = error_for_status("openai", status, body=b'{"error": {"message": "nope"}}')
    assert error.kind is kind
    assert error.transient is transient
    assert "openai" in error.message and "nope" in error.message


def test_openai_insufficient_quota_429_is_out_of_credit_not_a_rate_limit():
    body = b'{"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}}'
    error = error_for_status("openai", 429, body=body)
    assert error.kind is ErrorKind.QUOTA and not error.transient


def test_rate_limit_carries_retry_after_seconds():
    error = error_for_status("groq", 429, headers={"retry-after": "7"})
    assert error.retry_after == 7.0
    assert "7 s" in error.message


def test_retry_after_accepts_milliseconds_seconds_and_http_dates():
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 5 <= parse_retry_after({"retry-after": in_ten}) <= 10
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "soon"},
        {"retry-after": "Tomorrow, 99 Foo 2026"},
        {"retry-after": "nan"},
        {"retry-after": "inf"},
        {"retry-after-ms": "later", "retry-after": ""},
        {"retry-after": "   "},
    ],
)
def test_rubbish_retry_after_is_ignored_not_an_error(headers):
    assert parse_retry_after(headers) is None
    error = error_for_status("custom", 429, headers=headers)
    assert error.retry_after is None and error.transient


def test_retry_after_milliseconds_win_and_rubbish_ms_falls_back_to_seconds():
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "x", "Retry-After": "2"}) == 2.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "-4"})) == 0.0


def test_retry_after_date_in_the_past_means_now():
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert parse_retry_after({"retry-after": past}) == 0.0


def test_a_key_echoed_in_an_error_body_never_reaches_the_message():
    body = f'{{"error": {{"message": "Incorrect API key provided: {SECRET}"}}}}'
    error = error_for_status("openai", 401, body=body, secrets=[SECRET])
    assert SECRET not in error.message
    assert "rejected the API key" in error.message


def test_scrub_removes_bearer_tokens_and_key_shaped_strings_it_was_not_told_about():
    text = "Authorization: Bearer abc.def.ghi and key sk-proj-ZZZZZZZZZZZZ"
    cleaned = scrub(text)
    assert "abc.def.ghi" not in cleaned and "sk-proj-ZZZZZZZZZZZZ" not in cleaned


def test_non_json_error_bodies_are_shown_shortened():
    error = error_for_status("deapi", 502, body=b"<html>" + b"x" * 5000)
    assert error.kind is ErrorKind.PROVIDER and len(error.message) < 500


def test_timeouts_and_network_failures_are_transient_and_name_no_url():
    timeout = error_for_transport("deapi", httpx.ReadTimeout("timed out"))
    assert timeout.kind is ErrorKind.TIMEOUT and timeout.transient
    request = httpx.Request("GET", f"https://api.example/x?key={SECRET}")
    failure = error_for_transport("deapi", httpx.ConnectError("refused", request=request), [SECRET])
    assert failure.kind is ErrorKind.NETWORK and failure.transient
    assert SECRET not in failure.message
