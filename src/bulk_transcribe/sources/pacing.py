"""Polite pacing of requests to one site (YouTube), apart from any transcription provider limit.

Written by hand because the rate-limiting libraries enforce a fixed rate, while a site that
blocks us must make every worker slow down together and then recover gradually.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_INTERVAL_SECONDS = 120.0
BLOCK_COOL_DOWN_SECONDS = 60.0
RECOVERY_FACTOR = 0.8  # each success after a block brings the interval this much closer to base


class Pacer:
    """Spaces requests at least `interval` seconds apart across threads; a block widens the gap."""

    def __init__(
        self,
        base_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_interval = max(0.0, base_interval)
        self.interval = self.base_interval
        self._clock = clock
        self._sleep = sleep
        self._next_allowed = 0.0
        self._lock = threading.Lock()

    def wait(self, check_cancelled: Callable[[], None] = lambda: None) -> float:
        """Block until this caller's turn; returns the seconds waited. Cancellation is honoured."""
        with self._lock:
            now = self._clock()
            # A little jitter so parallel workers do not fire in lock-step bursts.
            jitter = random.uniform(0, self.interval * 0.2)
            turn = max(now, self._next_allowed)
            self._next_allowed = turn + self.interval + jitter
        waited = 0.0
        while (remaining := turn - self._clock()) > 0:
            check_cancelled()
            step = min(remaining, 0.5)
            self._sleep(step)
            waited += step
        check_cancelled()
        return waited

    def slow_down(self, cool_down: float = BLOCK_COOL_DOWN_SECONDS) -> None:
        """The site refused us: double the interval and hold everyone back for `cool_down`."""
        with self._lock:
            self.interval = min(MAX_INTERVAL_SECONDS, max(self.interval * 2, 1.0))
            self._next_allowed = max(self._next_allowed, self._clock() + cool_down)
        log.warning(
            "YouTube refused a request; pacing requests %.0f s apart from now on", self.interval
        )

    def succeeded(self) -> None:
        """A request went through: drift back towards the base interval."""
        with self._lock:
            if self.interval > self.base_interval:
                excess = (self.interval - self.base_interval) * RECOVERY_FACTOR
                self.interval = self.base_interval + excess
