"""How many items run at once: AIMD on rate-limit violations and resource pressure."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bulk_transcribe.workscope import ResizableSlots


@dataclass(frozen=True)
class ConcurrencyChange:
    before: int
    after: int
    reason: str
    fallback_sequential: bool


class ConcurrencyController:
    """Multiplicative decrease on trouble, additive increase after a quiet period.

    A violation halves the concurrency at once; another violation before the quiet period
    has passed means halving is not enough, so the run falls back to sequential. A violation
    of a request sent before the last decrease says nothing about the new level (it was
    already in flight), so it is ignored. Resource pressure cuts at most once per quiet
    period. After `quiet_seconds` without trouble the concurrency climbs back by one, up to
    the ceiling the user chose (which they can lower at any moment, e.g. to 1 to turn
    parallel off). `slots` holds requests in flight (chunk uploads) to the live limit.
    """

    def __init__(
        self,
        ceiling: int,
        *,
        quiet_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._clock = clock
        self._lock = threading.Lock()
        self.ceiling = ceiling
        self.limit = ceiling
        self.quiet_seconds = quiet_seconds
        self.fallback_sequential = False
        self.fallback_reason: str | None = None
        self._last_trouble: float | None = None
        self._last_change = clock()
        self._last_decrease: float | None = None
        self._last_pressure_cut: float | None = None
        self.slots = ResizableSlots(lambda: self.limit)

    def _change(self, after: int, reason: str) -> ConcurrencyChange | None:
        before = self.limit
        if after == before:
            return None
        self.limit = after
        self._last_change = self._clock()
        if after < before:
            self._last_decrease = self._last_change
        return ConcurrencyChange(before, after, reason, self.fallback_sequential)

    def on_violation(self, reason: str, sent_at: float | None = None) -> ConcurrencyChange | None:
        """A 429 for a request sent at `sent_at` (this controller's clock; None: now)."""
        with self._lock:
            now = self._clock()
            if (
                sent_at is not None
                and self._last_decrease is not None
                and sent_at < self._last_decrease
            ):
                return None  # in flight before the last decrease: already answered
            repeated = (
                self._last_trouble is not None and now - self._last_trouble < self.quiet_seconds
            )
            self._last_trouble = now
            if repeated or self.limit <= 2:
                if self.ceiling > 1:
                    self.fallback_sequential = True
                    self.fallback_reason = reason
                return self._change(1, f"fell back to sequential: {reason}")
            return self._change(max(1, self.limit // 2), f"halved: {reason}")

    def on_pressure(self, reason: str) -> ConcurrencyChange | None:
        """Resource pressure: halve, but at most once per quiet period (a cut needs time to
        show in the readings); no climbing back while the pressure lasts."""
        with self._lock:
            now = self._clock()
            self._last_trouble = now
            recent = (
                self._last_pressure_cut is not None
                and now - self._last_pressure_cut < self.quiet_seconds
            )
            if recent or self.limit <= 1:
                return None
            self._last_pressure_cut = now
            return self._change(max(1, self.limit // 2), f"reduced: {reason}")

    def set_ceiling(self, ceiling: int) -> ConcurrencyChange | None:
        """The user's own setting; lowering it takes effect at once."""
        with self._lock:
            if ceiling == self.ceiling:
                return None
            self.ceiling = ceiling
            if ceiling == 1:
                self.fallback_sequential = False
                self.fallback_reason = None
            if self.limit > ceiling or (ceiling > self.limit and not self._in_trouble()):
                verb = "parallel processing turned off" if ceiling == 1 else "set by the user"
                return self._change(ceiling, f"concurrency {ceiling}: {verb}")
            return None

    def tick(self) -> ConcurrencyChange | None:
        """Climb back by one after a quiet period."""
        with self._lock:
            now = self._clock()
            if self.limit >= self.ceiling or self._in_trouble():
                return None
            if now - self._last_change < self.quiet_seconds:
                return None
            after = self.limit + 1
            if after > 1:
                self.fallback_sequential = False
            return self._change(after, f"quiet for {self.quiet_seconds:.0f} s: climbing back")

    def _in_trouble(self) -> bool:
        return (
            self._last_trouble is not None
            and self._clock() - self._last_trouble < self.quiet_seconds
        )
