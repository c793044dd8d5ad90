"""Per-provider rate limits shared by every worker, fed by the HTTP hook of each engine."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx
from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate

log = logging.getLogger(__name__)

SAFETY_MARGIN = 0.95  # never use more than 95 % of a provider's limit in any window
WINDOW_SECONDS = 60.0
WINDOW_GUARD_FRACTION = 0.02
WINDOW_GUARD_MAX_SECONDS = 1.0
BURST_SLICES = 10


@dataclass(frozen=True)
class LimiterStats:
    provider: str
    rpm_limit: int
    allowed_per_window: int
    requests_in_window: int
    utilisation: float  # requests in the last window against the provider's limit
    count_429: int
    waiting: int  # workers blocked on this limiter right now


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


def _reset_seconds(value: str | None) -> float | None:
    """OpenAI-style reset headers: '1s', '6m0s', '250ms', or plain seconds."""
    if not value:
        return None
    total, number, unit = 0.0, "", ""
    for char in value.strip() + " ":
        if char.isdigit() or char == ".":
            if unit:
                total += _unit_seconds(float(number), unit)
                number, unit = "", ""
            number += char
        elif char.isalpha():
            unit += char
        elif number:
            total += _unit_seconds(float(number), unit or "s")
            number, unit = "", ""
    return total


def _unit_seconds(amount: float, unit: str) -> float:
    return amount * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}.get(unit, 1.0)


class ProviderLimiter:
    """Keeps one provider's requests at or under 95 % of its limit in every sliding window.

    pyrate-limiter's sliding-window log does the admission; this class adds what it does not
    know about: pauses the provider asks for (Retry-After, exhausted rate-limit headers) and
    the live numbers the UI shows.
    """

    def __init__(
        self,
        provider: str,
        rpm: int,
        *,
        window_seconds: float = WINDOW_SECONDS,
        safety_margin: float = SAFETY_MARGIN,
    ):
        self.provider = provider
        self.rpm = rpm
        self.window_seconds = window_seconds
        self.allowed = max(1, math.floor(rpm * safety_margin))
        # The provider counts arrivals, we count departures: a request admitted early in our
        # window can land late in theirs. A small guard on the window and a cap on bursts
        # (a tenth of the allowance per tenth of the window, plus one) absorb that skew.
        guard = min(WINDOW_GUARD_MAX_SECONDS, WINDOW_GUARD_FRACTION * window_seconds)
        window_ms = int((window_seconds + guard) * Duration.SECOND)
        burst = math.ceil(self.allowed / BURST_SLICES) + 1
        rates = [Rate(burst, max(1, window_ms // BURST_SLICES)), Rate(self.allowed, window_ms)]
        self._limiter = Limiter(InMemoryBucket(rates if burst < self.allowed else rates[1:]))
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._waiting = 0
        self.count_429 = 0

    def acquire(self, on_wait: Callable[[bool], None] | None = None) -> float:
        """Block until a request may be sent; returns the seconds spent waiting."""
        started = time.monotonic()
        notified = False
        with self._count_waiting():
            while True:
                pause = self._paused_until - time.monotonic()
                if pause > 0:
                    if on_wait and not notified:
                        on_wait(True)
                        notified = True
                    time.sleep(min(pause, 0.25))
                    continue
                if self._limiter.try_acquire(self.provider, blocking=False):
                    break
                if on_wait and not notified:
                    on_wait(True)
                    notified = True
                time.sleep(min(0.05, self.window_seconds / self.allowed / 4))
        if notified and on_wait:
            on_wait(False)
        now = time.monotonic()
        with self._lock:
            self._sent.append(now)
        return now - started

    @contextlib.contextmanager
    def _count_waiting(self) -> Iterator[None]:
        with self._lock:
            self._waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def observe(self, response: httpx.Response) -> bool:
        """Learn from a response; returns True when it was a rate-limit violation (429)."""
        headers = response.headers
        if response.status_code == 429:
            wait = parse_retry_after(headers.get("retry-after"))
            if wait is None:  # no advice from the provider: a short, window-relative pause
                wait = min(self.window_seconds / 12, 5.0)
            with self._lock:
                self.count_429 += 1
                self._paused_until = max(self._paused_until, time.monotonic() + wait)
            log.warning("%s answered 429; pausing its requests for %.1f s", self.provider, wait)
            return True
        remaining = headers.get("x-ratelimit-remaining-requests")
        if remaining is not None and remaining.strip() == "0":
            reset = _reset_seconds(headers.get("x-ratelimit-reset-requests"))
            if reset:
                with self._lock:
                    self._paused_until = max(self._paused_until, time.monotonic() + reset)
        return False

    def stats(self) -> LimiterStats:
        cutoff = time.monotonic() - self.window_seconds
        with self._lock:
            while self._sent and self._sent[0] < cutoff:
                self._sent.popleft()
            in_window = len(self._sent)
            return LimiterStats(
                provider=self.provider,
                rpm_limit=self.rpm,
                allowed_per_window=self.allowed,
                requests_in_window=in_window,
                utilisation=in_window / self.rpm,
                count_429=self.count_429,
                waiting=self._waiting,
            )


class RateLimitHook:
    """The RequestHook every engine's HTTP client goes through: one limiter per provider."""

    def __init__(
        self,
        *,
        window_seconds: float = WINDOW_SECONDS,
        on_wait: Callable[[bool], None] | None = None,
        on_violation: Callable[[str, httpx.Response], None] | None = None,
    ):
        self.limiters: dict[str, ProviderLimiter] = {}
        self.window_seconds = window_seconds
        self._on_wait = on_wait
        self._on_violation = on_violation

    def set_limit(self, provider: str, rpm: int) -> None:
        """Limit `provider` to `rpm` requests per window (95 % of it, to be exact)."""
        self.limiters[provider] = ProviderLimiter(provider, rpm, window_seconds=self.window_seconds)

    def before_request(self, provider: str, request: httpx.Request) -> None:
        limiter = self.limiters.get(provider)
        if limiter is not None:
            limiter.acquire(self._on_wait)

    def after_response(
        self, provider: str, request: httpx.Request, response: httpx.Response
    ) -> None:
        limiter = self.limiters.get(provider)
        if limiter is not None and limiter.observe(response) and self._on_violation:
            self._on_violation(provider, response)

    def stats(self) -> list[LimiterStats]:
        return [limiter.stats() for limiter in self.limiters.values()]
