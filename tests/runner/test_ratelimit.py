"""The limiter keeps every sliding window under 95 % of the limit and obeys the provider."""

from __future__ import annotations

import threading
import time
from email.utils import formatdate

import httpx
import pytest

from bulk_transcribe.net import provider_client
from bulk_transcribe.runner.ratelimit import ProviderLimiter, RateLimitHook, parse_retry_after


def max_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_allows_95_percent_of_the_limit_per_window() -> None:
    assert ProviderLimiter("p", 300).allowed == 285
    assert ProviderLimiter("p", 20).allowed == 19
    assert ProviderLimiter("p", 1).allowed == 1


def test_many_workers_never_exceed_the_allowance_in_any_sliding_window() -> None:
    window = 1.0
    limiter = ProviderLimiter("p", 40, window_seconds=window)  # 38 per window
    stamps: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 2.5 * window

    def worker() -> None:
        while time.monotonic() < stop_at:
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Stamps are taken just after admission; a small slack absorbs scheduling delays.
    assert max_in_any_window(stamps, window * 0.85) <= limiter.allowed
    assert len(stamps) >= 2 * limiter.allowed  # and it did let work through


def test_a_429_with_retry_after_pauses_every_worker_of_that_provider() -> None:
    limiter = ProviderLimiter("p", 600, window_seconds=60)
    response = httpx.Response(429, headers={"Retry-After": "1"})

    paused_at = time.monotonic()
    assert limiter.observe(response) is True
    waits: list[bool] = []
    limiter.acquire(on_wait=waits.append)

    assert time.monotonic() - paused_at >= 1.0
    assert waits == [True, False]
    assert limiter.stats().count_429 == 1


def test_exhausted_rate_limit_headers_pause_until_the_reset() -> None:
    limiter = ProviderLimiter("p", 600)
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "800ms"}

    started = time.monotonic()
    assert limiter.observe(httpx.Response(200, headers=headers)) is False
    limiter.acquire()

    assert time.monotonic() - started >= 0.8


@pytest.mark.parametrize(
    ("header", "expected"), [("3", 3.0), ("0.5", 0.5), ("soon", None), (None, None)]
)
def test_retry_after_in_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_as_an_http_date() -> None:
    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)


def test_every_request_of_a_provider_client_goes_through_the_hook() -> None:
    seen: list[tuple[str, int]] = []
    violations: list[str] = []
    hook = RateLimitHook(on_violation=lambda provider, _r: violations.append(provider))
    hook.set_limit("deapi", 300)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, len(seen)))
        return httpx.Response(429 if request.url.path == "/busy" else 200)

    with provider_client(
        "deapi", hook, transport=httpx.MockTransport(handler), base_url="http://provider"
    ) as client:
        client.get("/status/1")
        client.get("/status/1")
        client.get("/busy")

    stats = hook.stats()[0]
    assert stats.requests_in_window == 3
    assert stats.count_429 == 1
    assert violations == ["deapi"]
    assert stats.utilisation == pytest.approx(3 / 300)
