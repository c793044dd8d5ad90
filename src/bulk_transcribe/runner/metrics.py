"""Live and final metrics of a run, published to the store for every view to read."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psutil

from bulk_transcribe.figures import pace, time_left
from bulk_transcribe.runner.adaptive import ConcurrencyController
from bulk_transcribe.runner.ratelimit import LimiterStats
from bulk_transcribe.runner.resources import ResourceReading
from bulk_transcribe.store import Store


class RunMetrics:
    """Throughput of this run, rate-limit use, concurrency and resources, as one dict.

    Keys (every view treats each as optional): current_concurrency, requested_concurrency,
    fallback_sequential, fallback_reason, rpm_limit, requests_last_60s,
    rate_limit_utilisation, count_429, rate_limit_allowance (learned, may be under 95 % of
    rpm_limit), rate_limit_paused_seconds, waiting_for_limiter, items_per_minute,
    audio_minutes_per_minute, eta_seconds, eta_basis, success_rate, failure_rate,
    peak_rss_mb, rss_mb, cpu_percent, runs, wall_seconds_total.
    """

    def __init__(self, store: Store, session_id: str):
        self.store = store
        self.session_id = session_id
        self._started = time.monotonic()
        self._cpu_started = _cpu_seconds()
        previous = store.metrics(session_id)
        self._runs_before = int(previous.get("runs", 0))
        self._wall_before = float(previous.get("wall_seconds_total", 0.0))
        self._429_before = int(previous.get("count_429_total", 0))
        self._peak_before = float(previous.get("peak_rss_mb", 0.0))

    def snapshot(
        self,
        controller: ConcurrencyController,
        limits: Sequence[LimiterStats],
        reading: ResourceReading,
    ) -> dict[str, Any]:
        counts = self.store.counts(self.session_id)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        finished = counts.done + counts.failed
        active_seconds = self._wall_before + elapsed
        rates = pace(counts, active_seconds)
        left = time_left(counts, rates)
        rpm = sum(s.rpm_limit or 0 for s in limits) or None
        allowances = [s.allowed_per_window for s in limits if s.allowed_per_window is not None]
        in_window = sum(s.requests_in_window for s in limits)
        count_429 = sum(s.count_429 for s in limits)
        return {
            "current_concurrency": controller.limit,
            "requested_concurrency": controller.ceiling,
            "fallback_sequential": controller.fallback_sequential,
            "fallback_reason": controller.fallback_reason,
            "rpm_limit": rpm,
            "requests_last_60s": in_window,
            "rate_limit_utilisation": round(in_window / rpm, 4) if rpm else None,
            "count_429": count_429,
            "rate_limit_allowance": sum(allowances) if allowances else None,
            "rate_limit_paused_seconds": round(
                max((s.paused_seconds for s in limits), default=0), 1
            ),
            "count_429_total": self._429_before + count_429,
            "waiting_for_limiter": sum(s.waiting for s in limits),
            "items_per_minute": round(rates.items_per_minute or 0.0, 2),
            "audio_minutes_per_minute": round(rates.audio_minutes_per_minute or 0.0, 2),
            "eta_seconds": round(left.seconds, 1) if left.seconds is not None else None,
            "eta_basis": left.basis,
            "success_rate": round(counts.done / finished, 4) if finished else None,
            "failure_rate": round(counts.failed / finished, 4) if finished else None,
            "rss_mb": round(reading.rss_mb, 1),
            "peak_rss_mb": round(max(self._peak_before, reading.peak_rss_mb), 1),
            "cpu_percent": round(100 * (_cpu_seconds() - self._cpu_started) / elapsed, 1),
            "runs": self._runs_before + 1,
            "wall_seconds_total": round(active_seconds, 2),
        }

    def publish(
        self,
        controller: ConcurrencyController,
        limits: Sequence[LimiterStats],
        reading: ResourceReading,
        *,
        final: bool = False,
    ) -> dict[str, Any]:
        metrics = self.snapshot(controller, limits, reading)
        if final:
            metrics["eta_seconds"] = None
        self.store.update_metrics(self.session_id, metrics)
        return metrics


def _cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system
