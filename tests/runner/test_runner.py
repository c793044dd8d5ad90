"""The runner isolates failures, retries what may pass, and stops, cancels and resumes cleanly."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from bulk_transcribe.models import (
    ItemStatus,
    SessionCommand,
    SessionStatus,
)
from bulk_transcribe.runner import Runner
from bulk_transcribe.runner import runner as runner_module
from bulk_transcribe.store import Store
from tests.runner.doubles import ScriptedEngine, make_session, run_in_thread, statuses
from tests.samples import SAMPLE_MEDIA


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "RETRY_BASE_SECONDS", 0.01)


def test_one_failing_item_never_stops_the_batch(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["ok1", "permanent", "boom", "ok2"])
    (tmp_path / "media" / "ok2.wav").write_bytes(b"not audio at all")
    engine = ScriptedEngine()

    counts = Runner(store, session.id, settings, engine=engine).run()

    assert statuses(store, session.id) == {
        "ok1": "done",
        "permanent": "failed",
        "boom": "failed",
        "ok2": "failed",
    }
    assert counts.done == 1 and counts.failed == 3
    by_stem = {Path(i.source).stem: i for i in store.items(session.id)}
    assert by_stem["permanent"].error_kind == "unsupported"
    assert by_stem["boom"].error_kind == "internal"
    assert "could not decode audio in ok2.wav" in by_stem["ok2"].error_message
    assert store.get_session(session.id).status is SessionStatus.COMPLETED


def test_transient_errors_are_retried_and_permanent_ones_are_not(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["transient", "permanent"])
    engine = ScriptedEngine()

    Runner(store, session.id, settings, engine=engine).run()

    assert engine.calls.count("transient") == 2
    assert engine.calls.count("permanent") == 1
    assert statuses(store, session.id) == {"transient": "done", "permanent": "failed"}
    transient = next(i for i in store.items(session.id) if "transient" in i.source)
    assert transient.attempts == 2
    assert [e.kind for e in store.events(session.id)].count("retry") == 1


def test_parallel_path_really_runs_items_at_the_same_time(tmp_path: Path) -> None:
    names = ["together1", "together2", "together3", "ok4", "ok5"]
    store, session, settings = make_session(tmp_path, names, concurrency=3)
    engine = ScriptedEngine()
    engine.barrier = threading.Barrier(3)

    counts = Runner(store, session.id, settings, engine=engine).run()

    assert counts.done == 5, statuses(store, session.id)
    assert sorted(engine.calls) == sorted(names)


def test_finished_items_have_outputs_and_the_manifest_lists_them(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["alpha", "beta"])

    Runner(store, session.id, settings, engine=ScriptedEngine()).run()

    folder = session.folder
    for item in store.items(session.id):
        assert [Path(o).suffix for o in item.outputs] == [".md", ".json"]
        assert all((folder / o).is_file() for o in item.outputs)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [i["status"] for i in manifest["items"]] == ["done", "done"]
    assert (folder / "items.csv").is_file()


def test_stop_finishes_running_items_and_starts_nothing_new(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["blocking", "ok2", "ok3"])
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    assert engine.started.wait(30)

    store.send_command(session.id, SessionCommand.STOP)  # as the web app would
    while not runner.stopping:
        threading.Event().wait(0.01)
    engine.release.set()
    thread.join(30)

    assert statuses(store, session.id) == {"blocking": "done", "ok2": "queued", "ok3": "queued"}
    assert store.get_session(session.id).status is SessionStatus.STOPPED


def test_cancel_aborts_running_items_and_resume_finishes_without_redoing(tmp_path: Path):
    store, session, settings = make_session(tmp_path, ["ok1", "blocking", "ok3"])
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    while "blocking" not in engine.calls:
        threading.Event().wait(0.01)

    runner.request_cancel()
    thread.join(30)

    assert statuses(store, session.id) == {"ok1": "done", "blocking": "queued", "ok3": "queued"}
    assert store.get_session(session.id).status is SessionStatus.CANCELLED

    engine.release.set()
    Runner(store, session.id, settings, engine=engine).run()

    assert set(statuses(store, session.id).values()) == {"done"}
    assert engine.calls.count("ok1") == 1  # finished work is never redone
    assert store.get_session(session.id).status is SessionStatus.COMPLETED


def test_resume_after_a_crash_requeues_items_left_running(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["ok1", "ok2"])
    crashed = store.items(session.id)[1]
    store.start_item(crashed.id)  # a worker was here when the process died

    counts = Runner(store, session.id, settings, engine=ScriptedEngine()).run()

    assert counts.done == 2
    assert store.get_item(crashed.id).attempts == 2
    assert any(e.kind == "resume" for e in store.events(session.id))


def test_a_file_where_nothing_is_said_is_done_and_marked_no_speech(tmp_path: Path) -> None:
    from tests.store.sessions import SegmentsEngine, local_specs, transcribe

    media = tmp_path / "media"
    media.mkdir()
    for name in ("quiet", "talk"):
        shutil.copy(SAMPLE_MEDIA[0], media / f"{name}.wav")
    script = {"quiet": [(0.0, 1.0, "  ")], "talk": [(0.0, 2.0, "Hello there.")]}
    with Store(tmp_path / "out" / "db.sqlite") as store:
        session_id = transcribe(
            store, tmp_path / "out", local_specs(sorted(media.iterdir())), SegmentsEngine(script)
        )
        quiet, talk = store.items(session_id)
    assert (quiet.status, quiet.status_text) == (ItemStatus.DONE, "done — no speech")
    assert talk.status_text == "done"
