"""One item at a time, for an engine that keeps several busy: the next item is worked on
ahead of its turn, while the store (and so every view) still shows one running, in order."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.models import ItemStatus, SessionStatus
from bulk_transcribe.runner import Runner
from bulk_transcribe.runner.runner import MAX_FINISHED_AHEAD
from tests.runner.doubles import ScriptedEngine, make_session, run_in_thread, statuses, wait_for


def two_at_once() -> ScriptedEngine:
    engine = ScriptedEngine()
    engine.items_at_once = 2  # like the local model on two cores
    return engine


def ids(store, session_id: str) -> dict[str, int]:
    return {Path(i.source).stem: i.id for i in store.items(session_id)}


def test_next_items_are_transcribed_ahead_but_shown_and_finished_in_their_turn(
    tmp_path: Path,
) -> None:
    names = ["blocking", "quick1", "quick2", "quick3", "quick4", "quick5"]
    store, session, settings = make_session(tmp_path, names)
    engine = two_at_once()
    thread = run_in_thread(Runner(store, session.id, settings, engine=engine))
    by_name = ids(store, session.id)

    # While blocking runs, the next items are transcribed one at a time beside it and kept
    # in the store at once, but not shown: up to MAX_FINISHED_AHEAD of them.
    wait_for(lambda: all(store.transcript(by_name[f"quick{n}"]) for n in range(1, 5)))
    assert MAX_FINISHED_AHEAD == 4
    assert statuses(store, session.id) == {"blocking": "running"} | {
        name: "queued" for name in names[1:]
    }
    assert store.counts(session.id).running == 1
    assert "quick5" not in engine.calls

    engine.release.set()
    thread.join(30)

    assert set(statuses(store, session.id).values()) == {"done"}
    assert sorted(engine.calls) == names  # each exactly once
    finished = [i.finished_at for i in sorted(store.items(session.id), key=lambda i: i.position)]
    assert finished == sorted(finished)  # in their order


def test_a_failure_found_ahead_is_reported_in_the_items_turn(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["blocking", "permanent"])
    engine = two_at_once()
    thread = run_in_thread(Runner(store, session.id, settings, engine=engine))

    wait_for(lambda: "permanent" in engine.calls)
    assert statuses(store, session.id)["permanent"] == "queued"
    engine.release.set()
    thread.join(30)

    failed = next(i for i in store.items(session.id) if "permanent" in i.source)
    assert failed.status is ItemStatus.FAILED and failed.error_kind == "unsupported"
    assert failed.attempts == 1
    assert store.get_session(session.id).status is SessionStatus.COMPLETED


def test_a_stop_leaves_the_item_read_ahead_queued_and_resume_uses_its_transcript(
    tmp_path: Path,
) -> None:
    store, session, settings = make_session(tmp_path, ["blocking", "quick1"])
    engine = two_at_once()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    wait_for(lambda: store.transcript(ids(store, session.id)["quick1"]) is not None)

    runner.request_stop()  # finish what runs, start nothing new
    engine.release.set()
    thread.join(30)

    assert statuses(store, session.id) == {"blocking": "done", "quick1": "queued"}
    assert store.get_session(session.id).status is SessionStatus.STOPPED

    Runner(store, session.id, settings, engine=engine).run()

    assert statuses(store, session.id) == {"blocking": "done", "quick1": "done"}
    assert engine.calls.count("quick1") == 1  # its finished work was kept, not redone


def test_an_item_read_ahead_keeps_only_its_latest_progress_but_every_news(
    tmp_path: Path,
) -> None:
    from bulk_transcribe.models import Stage
    from bulk_transcribe.runner.runner import Flight
    from bulk_transcribe.runner.work import ItemInfo, Outcome, Progress, WorkUnit

    store, session, _settings = make_session(tmp_path, ["talk"])
    (item,) = store.items(session.id)
    flight = Flight(WorkUnit(item, attempt=1), started=0.0, duration=None, ahead=True)
    flight.hold(Progress(item.id, 1, stage=Stage.FETCHING))
    flight.hold(Progress(item.id, 1, info=ItemInfo(title="A talk")))
    for step in range(1, 501):  # a long item transcribed ahead: 500 updates
        flight.hold(Progress(item.id, 1, stage=Stage.TRANSCRIBING, fraction=step / 500))
    flight.hold(Outcome(item.id, 1, cancelled=True))

    kinds = [type(message).__name__ for message in flight.held]
    assert kinds == ["Progress", "Progress", "Progress", "Outcome"]
    assert flight.held[1].info is not None and flight.held[2].fraction == 1.0
    assert flight.finished_ahead


def test_nothing_is_read_ahead_while_items_above_a_lowered_limit_still_run(
    tmp_path: Path,
) -> None:
    from bulk_transcribe.runner.runner import Flight
    from bulk_transcribe.runner.work import WorkUnit

    store, session, settings = make_session(tmp_path, ["a", "b", "c", "d"])
    runner = Runner(store, session.id, settings, engine=two_at_once())
    runner.warm_up()
    items = store.items(session.id)
    assert runner.controller.limit == 1 and runner._read_ahead() == 1

    # Parallel was on with three running, then turned off: they finish, nothing joins them.
    for item in items[:3]:
        runner._flights[item.id] = Flight(WorkUnit(item, attempt=1), 0.0, None)
    assert runner._read_ahead() == 0
    del runner._flights[items[0].id], runner._flights[items[1].id]
    assert runner._read_ahead() == 1
