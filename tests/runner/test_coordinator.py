"""The coordinator: one owner per session, guarded state changes, time limits that mean what
they say, cancel that never waits on a stuck worker, and transcripts kept in the store."""

from __future__ import annotations

import errno
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pytest_httpserver import HTTPServer

from bulk_transcribe.engines.openai_api import OpenAICompatibleEngine
from bulk_transcribe.engines.presets import resolve_provider
from bulk_transcribe.errors import ErrorKind
from bulk_transcribe.models import ItemSpec, ItemStatus, Owner, SessionStatus, SourceType
from bulk_transcribe.outputs import writer as writer_module
from bulk_transcribe.runner import Runner, SessionBusy, create_session
from bulk_transcribe.runner import runner as runner_module
from bulk_transcribe.runner.ownership import OWNER_EXPIRY_SECONDS, is_dead, new_owner
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Fence, Store, Superseded
from tests.engines.conftest import OPENAI_KEY
from tests.fakes.slow_upload_server import SlowUploadServer, answer_verbose_json
from tests.runner.doubles import (
    Provider,
    ScriptedEngine,
    make_session,
    run_in_thread,
    statuses,
    wait_for,
)
from tests.samples import write_wav


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "RETRY_BASE_SECONDS", 0.01)
    monkeypatch.setattr(runner_module, "MONITOR_SECONDS", 0.1)


# --- ownership ---------------------------------------------------------------------------


def test_a_session_has_one_live_owner_and_a_second_runner_is_refused(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["blocking", "ok"])
    engine = ScriptedEngine()
    first = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(first)
    assert engine.started.wait(30)

    with pytest.raises(SessionBusy) as refused:
        Runner(store, session.id, settings, engine=engine).run()

    assert refused.value.owner.id == first.owner.id
    assert f"pid {first.owner.pid} on host {socket.gethostname()}" in str(refused.value)
    engine.release.set()
    thread.join(30)
    assert set(statuses(store, session.id).values()) == {"done"}
    assert engine.calls.count("blocking") == 1
    assert store.get_session(session.id).owner is None  # let go at the end


def test_a_dead_owner_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["ok"])
    gone = Owner(id="crashed", host=socket.gethostname(), pid=2**22 + 7, heartbeat_at=time.time())
    assert is_dead(gone)
    assert store.claim_session(session.id, gone, OWNER_EXPIRY_SECONDS, lambda _: False) is None

    counts = Runner(store, session.id, settings, engine=ScriptedEngine()).run()

    assert counts.done == 1


def test_a_silent_owner_elsewhere_is_taken_over_after_the_expiry(tmp_path: Path) -> None:
    store, session, _ = make_session(tmp_path, ["ok"])
    remote = Owner(id="remote", host="another-host", pid=1, heartbeat_at=time.time())
    store.claim_session(session.id, remote, OWNER_EXPIRY_SECONDS, is_dead)
    claimant = new_owner()

    in_the_way = store.claim_session(session.id, claimant, OWNER_EXPIRY_SECONDS, is_dead)
    assert in_the_way is not None and in_the_way.id == "remote"
    with store._transaction() as conn:  # its heartbeat stopped long ago
        conn.execute("UPDATE sessions SET heartbeat_at = ?", (time.time() - 60,))
    assert store.claim_session(session.id, claimant, OWNER_EXPIRY_SECONDS, is_dead) is None
    assert store.get_session(session.id).owner.id == claimant.id


def test_a_runner_whose_session_was_taken_over_stops_and_writes_nothing_more(tmp_path: Path):
    store, session, settings = make_session(tmp_path, ["blocking", "ok"])
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    assert engine.started.wait(30)

    with store._transaction() as conn:  # another process took it over meanwhile
        conn.execute("UPDATE sessions SET owner_id = 'usurper'")
    thread.join(30)

    assert not thread.is_alive()
    assert engine.calls == ["blocking"]
    assert store.get_session(session.id).owner.id == "usurper"
    engine.release.set()


def test_a_stalled_owner_taken_over_has_its_workers_stopped_and_its_writes_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, session, settings = make_session(tmp_path, ["blocking", "ok"])
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    # The coordinator stalls on its first message (a slow step, a locked database).
    stalled, resume_loop = threading.Event(), threading.Event()
    handle = runner._handle

    def stalling_handle(message):
        if engine.started.is_set() and not stalled.is_set():  # the worker is on its item
            stalled.set()
            resume_loop.wait(60)
        handle(message)

    monkeypatch.setattr(runner, "_handle", stalling_handle)
    thread = run_in_thread(runner)
    try:
        assert stalled.wait(30) and engine.active == 1
        events_before = len(store.events(session.id))
        with store._transaction() as conn:  # another process claims it meanwhile
            conn.execute(
                "UPDATE sessions SET owner_id = 'usurper', owner_generation = owner_generation + 1"
            )

        wait_for(lambda: engine.active == 0)  # its worker stopped while its loop still stalls
    finally:
        resume_loop.set()
        engine.release.set()
    thread.join(30)

    assert not thread.is_alive()
    assert engine.calls == ["blocking"]  # nothing more was started, nothing paid for
    (blocking, ok) = store.items(session.id)
    assert blocking.status is ItemStatus.RUNNING and blocking.attempts == 1  # left as it was
    assert ok.status is ItemStatus.QUEUED
    assert len(store.events(session.id)) == events_before  # not one write after the claim
    assert store.get_session(session.id).owner.id == "usurper"
    with pytest.raises(Superseded), store.fenced(Fence(session.id, runner.owner.id, 1)):
        store.add_event(session.id, "late", "a write of the superseded runner")


def test_a_runner_taken_over_ends_its_upload_on_the_wire_and_frees_its_slot(tmp_path: Path):
    # Four minutes of 16 kHz WAV (7.7 MB), uploaded as it is: far more than the sockets buffer.
    audio = write_wav(tmp_path / "talk.wav", np.zeros(16_000 * 240, np.float32))
    with SlowUploadServer(answer_verbose_json) as server:
        settings = Settings(
            out_dir=tmp_path / "out",
            formats="md",
            engine="openai",
            api_base=server.base_url,
            openai_api_key=OPENAI_KEY,
            upload_limit_mb=50,
        )
        store = Store(settings.database)
        spec = ItemSpec(str(audio), SourceType.LOCAL_FILE)
        session = create_session(store, settings, [spec])
        engine = OpenAICompatibleEngine(resolve_provider(settings))
        runner = Runner(store, session.id, settings, engine=engine)
        thread = run_in_thread(runner)
        assert server.receiving.wait(60), "the upload never started"
        with store._transaction() as conn:  # another process claims it meanwhile
            conn.execute(
                "UPDATE sessions SET owner_id = 'usurper', owner_generation = owner_generation + 1"
            )
        thread.join(60)
        [upload] = server.wait_for_uploads(1)

    assert not thread.is_alive() and runner.taken_over
    assert upload.received < upload.length  # the upload ended before its whole body
    assert runner.controller.slots.held == 0
    (item,) = store.items(session.id)
    assert item.status is ItemStatus.RUNNING  # left for the new owner, not written


def test_an_owner_is_dead_only_where_its_pid_means_something_and_only_if_it_is_that_process(
    tmp_path: Path,
) -> None:
    me = new_owner()
    assert not is_dead(me)
    assert is_dead(replace(me, started=me.started - 100))  # the pid now holds another process
    assert not is_dead(replace(me, machine="another-boot/pid:[1]", pid=2**22 + 7))
    assert is_dead(replace(me, pid=2**22 + 7))


# --- guarded state changes ---------------------------------------------------------------


def test_an_attempt_can_end_only_once_done_or_timed_out_never_both(tmp_path: Path) -> None:
    store, session, _ = make_session(tmp_path, ["ok"])
    (item,) = store.items(session.id)
    attempt = store.start_item(item.id)

    assert store.finish_item(
        item.id, ItemStatus.FAILED, error_kind="timeout", error_message="late", attempt=attempt
    )
    # The worker's late result for the same attempt loses, whatever order they come in.
    assert not store.finish_item(item.id, ItemStatus.DONE, attempt=attempt)
    assert not store.set_stage(item.id, runner_module.Stage.WRITING, 0.5, attempt=attempt)
    assert not store.requeue_item(item.id, attempt=attempt)
    assert store.get_item(item.id).status is ItemStatus.FAILED
    assert store.start_item(item.id) is None  # not queued: nobody may start it


def test_a_result_arriving_after_the_time_limit_is_dropped(tmp_path: Path) -> None:
    store, session, settings = make_session(
        tmp_path, ["blocking"], item_timeout_seconds=0.3, item_timeout_per_audio_second=0
    )
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    wait_for(lambda: store.items(session.id)[0].status is ItemStatus.FAILED)
    engine.release.set()  # the worker now finishes, too late
    thread.join(30)

    (item,) = store.items(session.id)
    assert item.status is ItemStatus.FAILED and item.error_kind == "timeout"
    assert item.outputs == [] and not list(session.folder.glob("*.md"))
    assert [a["status"] for a in store.attempts(item.id)] == ["failed"]


# --- time limits -------------------------------------------------------------------------


def test_the_time_limit_grows_when_the_length_becomes_known(tmp_path: Path) -> None:
    store, session, settings = make_session(
        tmp_path, ["blocking"], item_timeout_seconds=0.5, item_timeout_per_audio_second=60
    )
    (item,) = store.items(session.id)
    with store._transaction() as conn:  # a pasted link: its length is unknown at the start
        conn.execute("UPDATE items SET duration = NULL WHERE id = ?", (item.id,))
    engine = ScriptedEngine()
    runner = Runner(store, session.id, settings, engine=engine)
    thread = run_in_thread(runner)
    assert engine.started.wait(30)
    time.sleep(1.5)  # past the bare limit; the source has since told its length
    engine.release.set()
    thread.join(30)

    (item,) = store.items(session.id)
    assert item.status is ItemStatus.DONE, item.error_message
    assert item.duration and item.duration > 1


def test_waiting_for_the_rate_limiter_does_not_count_against_the_time_limit(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    from werkzeug import Response

    calls = {"n": 0}

    def provider(_request):
        calls["n"] += 1
        if calls["n"] == 1:  # the provider asks for a pause longer than the time limit
            return Response("slow down", status=429, headers={"Retry-After": "2"})
        return Response("{}", status=200)

    httpserver.expect_request("/v1/transcribe").respond_with_handler(provider)
    store, session, settings = make_session(
        tmp_path,
        ["http1", "http2"],
        concurrency=2,
        rpm=600,
        item_timeout_seconds=1.0,
        item_timeout_per_audio_second=0,
    )
    engine = ScriptedEngine(Provider("fake", httpserver.url_for("/v1/transcribe")))
    runner = Runner(store, session.id, settings, engine=engine)
    engine.hook = runner.rate_limits

    runner.run()

    failures = [i.error_message for i in store.items(session.id) if i.error_message]
    assert set(statuses(store, session.id).values()) == {"done"}, failures
    stages = [e.message for e in store.events(session.id) if e.kind == "item_failed"]
    assert stages == []


# --- cancel ------------------------------------------------------------------------------


def test_cancel_during_a_long_retry_after_returns_promptly(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    from werkzeug import Response

    calls = {"n": 0}

    def provider(_request):
        calls["n"] += 1
        if calls["n"] == 1:
            return Response("slow down", status=429, headers={"Retry-After": "120"})
        return Response("{}", status=200)

    httpserver.expect_request("/v1/transcribe").respond_with_handler(provider)
    store, session, settings = make_session(tmp_path, ["http1", "http2"])
    engine = ScriptedEngine(Provider("fake", httpserver.url_for("/v1/transcribe"), rpm=600))
    runner = Runner(store, session.id, settings, engine=engine)
    engine.hook = runner.rate_limits
    thread = run_in_thread(runner)
    # The first item got the 429; the next one now waits out its 120 s pause in the limiter.
    wait_for(lambda: runner.rate_limits.stats() and runner.rate_limits.stats()[0].waiting > 0)

    runner.request_cancel()
    thread.join(30)  # far below the 120 s the limiter would otherwise wait

    assert not thread.is_alive()
    assert store.get_session(session.id).status is SessionStatus.CANCELLED
    assert set(statuses(store, session.id).values()) == {"queued"}
    assert calls["n"] == 1


# --- transcripts in the store ------------------------------------------------------------


def test_a_full_disk_stops_the_run_and_resume_writes_without_transcribing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, session, settings = make_session(tmp_path, ["alpha", "beta", "gamma"])
    real_write = writer_module.atomic_write_text

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(writer_module, "atomic_write_text", disk_full)
    engine = ScriptedEngine()

    Runner(store, session.id, settings, engine=engine).run()

    assert store.get_session(session.id).status is SessionStatus.STOPPED
    by_stem = statuses(store, session.id)
    assert by_stem == {"alpha": "failed", "beta": "queued", "gamma": "queued"}
    alpha = store.items(session.id)[0]
    assert alpha.error_kind == ErrorKind.DISK_FULL
    assert "free some space" in alpha.error_message and "then resume" in alpha.error_message
    assert any("disk is full" in e.message for e in store.events(session.id))

    monkeypatch.setattr(writer_module, "atomic_write_text", real_write)
    Runner(store, session.id, settings, engine=engine).run()  # a plain resume

    assert set(statuses(store, session.id).values()) == {"done"}
    assert engine.calls == ["alpha", "beta", "gamma"]  # alpha was not transcribed again
    assert len(list(session.folder.glob("*.md"))) == 3


def test_every_finished_transcript_is_kept_in_the_store(tmp_path: Path) -> None:
    store, session, settings = make_session(tmp_path, ["alpha"])

    Runner(store, session.id, settings, engine=ScriptedEngine()).run()

    (item,) = store.items(session.id)
    stored = store.transcript(item.id)
    assert stored is not None
    assert stored.transcript.text == "Words of alpha."
    assert stored.transcribed_at.endswith("Z")


def test_the_thread_executor_never_joins_a_hung_worker(tmp_path: Path) -> None:
    store, session, settings = make_session(
        tmp_path, ["ok", "hang"], item_timeout_seconds=5, item_timeout_per_audio_second=0
    )
    engine = ScriptedEngine()
    done = threading.Event()

    def run() -> None:
        Runner(store, session.id, settings, engine=engine).run()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    try:
        assert done.wait(60), "the run waited on its hung worker"
    finally:
        engine.unhang.set()
    assert statuses(store, session.id) == {"hang": "failed", "ok": "done"}
