"""Resource pressure is noticed before anything crashes, and brings concurrency down."""

from __future__ import annotations

import gc
import mmap
import time
from pathlib import Path

import pytest

from bulk_transcribe.runner import Runner
from bulk_transcribe.runner import runner as runner_module
from bulk_transcribe.runner.resources import ResourceMonitor
from tests.runner.doubles import ScriptedEngine, make_session, run_in_thread


def test_memory_growth_above_the_baseline_is_pressure(tmp_path: Path) -> None:
    monitor = ResourceMonitor(tmp_path, memory_budget_mb=20, min_free_disk_mb=0)
    baseline = monitor.mark_baseline()
    assert monitor.pressure(monitor.read()) is None  # the model and the rest: not the run's

    # The run's own growth; large, so memory other threads free meanwhile cannot hide it.
    grown = b"x" * (200 * 1024**2)
    reading = monitor.read()

    assert reading.rss_mb > baseline and reading.peak_rss_mb >= reading.rss_mb
    assert reading.growth_mb > 20
    assert "over the 20 MB budget" in monitor.pressure(reading)
    del grown


def test_a_large_process_is_not_pressure_by_itself(tmp_path: Path) -> None:
    monitor = ResourceMonitor(tmp_path, memory_budget_mb=30, min_free_disk_mb=0)
    monitor.mark_baseline()

    reading = monitor.read()

    assert reading.rss_mb > 30  # over the budget as a whole, but none of it is the run's
    assert monitor.pressure(reading) is None


def test_a_nearly_full_disk_is_pressure(tmp_path: Path) -> None:
    monitor = ResourceMonitor(tmp_path / "not-yet-created", 10**9, min_free_disk_mb=10**12)

    assert "of disk left" in monitor.pressure(monitor.read())


def test_no_pressure_within_the_limits(tmp_path: Path) -> None:
    monitor = ResourceMonitor(tmp_path, memory_budget_mb=10**6, min_free_disk_mb=0)

    assert monitor.pressure(monitor.read()) is None


def test_pressure_reduces_concurrency_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "MONITOR_SECONDS", 0.05)
    gc.collect()  # earlier tests' garbage freed now, not after the baseline (hiding growth)
    names = ["blocking1", "blocking2", "blocking3", "blocking4"]
    store, session, settings = make_session(tmp_path, names, concurrency=4, memory_budget_mb=20)
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    while engine.active < 4:
        time.sleep(0.01)
    # What the running items hold: fresh pages, touched, whatever the allocator keeps; large,
    # so memory freed meanwhile elsewhere in this process cannot hide it.
    grown = mmap.mmap(-1, 200 * 1024**2)
    for page in range(0, len(grown), mmap.PAGESIZE):
        grown[page] = 1
    try:
        events = []
        for _ in range(2000):
            events = [e.message for e in store.events(session.id) if e.kind == "concurrency"]
            if events:
                break
            time.sleep(0.01)
    finally:
        engine.release.set()
        thread.join(60)

    grown.close()
    assert events and "4 → 2" in events[0] and "memory" in events[0]
    assert len(events) == 1  # at most one cut per quiet period, however long it lasts
