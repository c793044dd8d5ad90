"""When to ask a provider whether a submitted job is done: as few status polls as possible.

The first poll waits for an estimate of the job's time, scaled by the audio's length and
learned from the jobs already finished; a job still running says how far it got, which gives
the next wait; without that the waits back off. No wait is shorter than the provider asks for.
Every request counts against the provider's rate limit, so a poll too early is a request lost.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class PollTiming:
    # Before any job finished: seconds of processing per second of audio (a cautious guess;
    # the first finished jobs replace it).
    prior_seconds_per_audio_second: float = 0.15
    unknown_duration_seconds: float = 5.0  # first wait for audio of unknown length (URLs)
    min_interval: float = 1.0  # never poll more often than this
    max_first_wait: float = 600.0
    backoff: float = 1.5
    max_interval: float = 15.0
    margin: float = 1.1  # wait a little past the estimate: a miss costs a whole request
    history: int = 20  # finished jobs the estimate learns from


class JobTimeEstimator:
    """Learns a provider's processing speed from the jobs of one session (thread-safe)."""

    def __init__(self, timing: PollTiming | None = None):
        self.timing = timing or PollTiming()
        self._per_audio_second: deque[float] = deque(maxlen=self.timing.history)
        self._unscaled: deque[float] = deque(maxlen=self.timing.history)
        self._lock = threading.Lock()

    def first_wait(self, duration: float | None, asked: float | None = None) -> float:
        """Seconds from submission to the first status poll."""
        timing = self.timing
        with self._lock:
            if duration:
                rate = max(self._per_audio_second, default=timing.prior_seconds_per_audio_second)
                estimate = rate * duration
            else:
                estimate = max(self._unscaled, default=timing.unknown_duration_seconds)
        wait = min(timing.max_first_wait, estimate * timing.margin)
        return max(wait, timing.min_interval, asked or 0.0)

    def next_wait(
        self,
        elapsed: float,
        progress: float | None,
        previous: float,
        asked: float | None = None,
    ) -> float:
        """Seconds to the next poll of a job still running after `elapsed` seconds."""
        timing = self.timing
        if progress is not None and 0 < progress < 100:
            remaining = elapsed * (100 - progress) / progress  # it ran at this pace so far
            wait = min(timing.max_first_wait, remaining * timing.margin)
        else:
            wait = min(previous * timing.backoff, timing.max_interval)
        return max(wait, timing.min_interval, asked or 0.0)

    def observe_progress(self, elapsed: float, progress: float | None) -> float | None:
        """A running job's pace: its projected total time, when the provider says how far."""
        if progress is None or not 0 < progress < 100 or elapsed <= 0:
            return None
        return elapsed * 100 / progress

    def finished(self, duration: float | None, total: float | None) -> None:
        """A job's time: projected from its progress, or measured when it needed polls."""
        if total is None or total <= 0:
            return
        with self._lock:
            if duration:
                self._per_audio_second.append(total / duration)
            else:
                self._unscaled.append(total)
