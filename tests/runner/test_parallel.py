"""Parallel processing: the user's switch, rate-limit violations, timeouts and scheduling."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from bulk_transcribe.models import ItemStatus, SessionStatus
from bulk_transcribe.runner import Runner
from bulk_transcribe.runner import runner as runner_module
from tests.runner.doubles import (
    Provider,
    ScriptedEngine,
    make_session,
    run_in_thread,
    statuses,
    wait_for,
)


@pytest.fixture(autouse=True)
def fast_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "RETRY_BASE_SECONDS", 0.01)
    monkeypatch.setattr(runner_module, "MONITOR_SECONDS", 0.1)


def test_turning_parallel_off_mid_run_takes_effect_at_once(tmp_path: Path) -> None:
    names = ["blocking1", "blocking2", "blocking3", "later4", "later5", "later6"]
    store, session, settings = make_session(tmp_path, names, concurrency=3)
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    wait_for(lambda: engine.active == 3)

    store.request_concurrency(session.id, 1)  # the web app's toggle
    wait_for(lambda: runner.controller.limit == 1)
    engine.release.set()
    thread.join(60)

    assert set(statuses(store, session.id).values()) == {"done"}
    for later in ("later4", "later5", "later6"):
        assert engine.active_at_start[later] == 1, engine.active_at_start
    events = [e.message for e in store.events(session.id) if e.kind == "concurrency"]
    assert any("3 → 1" in m and "turned off" in m for m in events)


def test_a_429_halves_concurrency_and_is_counted(tmp_path: Path, httpserver: HTTPServer):
    calls = {"n": 0}

    def provider(request):
        from werkzeug import Response

        calls["n"] += 1
        if calls["n"] == 1:
            return Response("slow down", status=429, headers={"Retry-After": "0"})
        return Response("{}", status=200)

    httpserver.expect_request("/v1/transcribe").respond_with_handler(provider)
    names = [f"http{n}" for n in range(6)]
    store, session, settings = make_session(tmp_path, names, concurrency=4, rpm=600)
    engine = ScriptedEngine(Provider("fake", httpserver.url_for("/v1/transcribe")))
    runner = Runner(store, session.id, settings, engine=engine)
    engine.hook = runner.rate_limits

    runner.run()

    assert set(statuses(store, session.id).values()) == {"done"}
    events = store.events(session.id)
    assert [e.kind for e in events].count("rate_limit") == 1
    assert any(e.kind == "concurrency" and "4 → 2" in e.message for e in events)
    metrics = store.metrics(session.id)
    assert metrics["count_429"] == 1
    assert metrics["rpm_limit"] == 600
    assert metrics["requests_last_60s"] == 7  # six items and the one that was refused


def test_an_item_that_hangs_times_out_without_holding_up_the_others(tmp_path: Path) -> None:
    names = ["hang", "ok1", "ok2", "ok3"]
    store, session, settings = make_session(
        tmp_path, names, concurrency=2, item_timeout_seconds=1.0, item_timeout_per_audio_second=0
    )
    engine = ScriptedEngine()
    try:
        Runner(store, session.id, settings, engine=engine).run()
    finally:
        engine.unhang.set()

    assert statuses(store, session.id) == {
        "hang": "failed",
        "ok1": "done",
        "ok2": "done",
        "ok3": "done",
    }
    hung = next(i for i in store.items(session.id) if "hang" in i.source)
    assert hung.error_kind == "timeout"
    assert "time limit" in hung.error_message
    assert store.get_session(session.id).status is SessionStatus.COMPLETED


def test_the_sequential_path_also_moves_past_a_hung_item(tmp_path: Path) -> None:
    store, session, settings = make_session(
        tmp_path,
        ["hang", "ok1"],
        concurrency=1,
        item_timeout_seconds=1.0,
        item_timeout_per_audio_second=0,
    )
    engine = ScriptedEngine()
    try:
        Runner(store, session.id, settings, engine=engine).run()
    finally:
        engine.unhang.set()

    assert statuses(store, session.id) == {"hang": "failed", "ok1": "done"}


def test_parallel_runs_start_with_the_longest_items(tmp_path: Path) -> None:
    names = ["short", "longest", "middle", "unknown", "also-short"]
    store, session, _ = make_session(tmp_path, names)
    durations = {"short": 10.0, "longest": 3600.0, "middle": 600.0, "also-short": 10.0}
    with store._transaction() as conn:
        for item in store.items(session.id):
            stem = Path(item.source).stem
            conn.execute(
                "UPDATE items SET duration = ? WHERE id = ?", (durations.get(stem), item.id)
            )

    sources = {item.id: Path(item.source).stem for item in store.items(session.id)}
    order = [sources[i] for i in store.queued_ids(session.id, longest_first=True)]

    # Unknown lengths go last; equal lengths keep the list order.
    assert order == ["longest", "middle", "short", "also-short", "unknown"]


def test_live_metrics_are_published_to_the_store(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["ok1", "ok2"], concurrency=2)

    Runner(store, session.id, settings, engine=ScriptedEngine()).run()

    metrics = store.metrics(session.id)
    assert metrics["current_concurrency"] == 2
    assert metrics["fallback_sequential"] is False
    assert metrics["success_rate"] == 1.0
    assert metrics["items_per_minute"] > 0
    assert metrics["peak_rss_mb"] > 0
    assert metrics["runs"] == 1
    counts = store.counts(session.id)
    assert counts.done == 2 and store.items(session.id)[0].status is ItemStatus.DONE


def test_turning_parallel_on_mid_run_moves_a_sequential_session_to_the_pool(tmp_path: Path):
    names = ["blocking0", "together1", "together2", "together3"]
    store, session, settings = make_session(tmp_path, names, concurrency=1)
    engine = ScriptedEngine()
    engine.barrier = threading.Barrier(3)  # passes only if three items run at once
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    wait_for(lambda: engine.active == 1)

    store.request_concurrency(session.id, 3)
    wait_for(lambda: runner.controller.limit == 3)
    engine.release.set()
    thread.join(60)

    assert set(statuses(store, session.id).values()) == {"done"}
    assert max(engine.active_at_start[n] for n in names[1:]) == 3
