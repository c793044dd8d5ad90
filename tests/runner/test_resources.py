"""Resource pressure is noticed before anything crashes, and brings concurrency down."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bulk_transcribe.runner import Runner
from bulk_transcribe.runner import runner as runner_module
from bulk_transcribe.runner.resources import ResourceMonitor
from tests.runner.doubles import ScriptedEngine, make_session, run_in_thread


def test_memory_over_the_budget_is_pressure(tmp_path: Path) -> None:
    monitor = ResourceMonitor(tmp_path, memory_budget_mb=1, min_free_disk_mb=0)

    reading = monitor.read()

    assert reading.rss_mb > 1 and reading.peak_rss_mb >= reading.rss_mb
    assert "over the 1 MB budget" in monitor.pressure(reading)


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
    names = ["blocking1", "blocking2", "blocking3", "blocking4"]
    store, session, settings = make_session(tmp_path, names, concurrency=4, memory_budget_mb=1)
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
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

    assert events and "4 → 2" in events[0] and "memory" in events[0]
