"""The store is the single source of truth: durable, thread-safe and honest about state."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.models import (
    ItemSpec,
    ItemStatus,
    SessionCommand,
    SessionStatus,
    SourceType,
    Stage,
)
from bulk_transcribe.store import Store, new_session_id


def specs(*names: str) -> list[ItemSpec]:
    return [ItemSpec(source=f"/media/{n}", source_type=SourceType.LOCAL_FILE) for n in names]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "state.db") as opened:
        yield opened


def test_session_ids_started_in_the_same_second_never_collide() -> None:
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    ids = {new_session_id(now) for _ in range(500)}

    assert len(ids) == 500
    assert all(i.startswith("20261128T120000Z-") for i in ids)


def test_database_uses_write_ahead_logging(store: Store) -> None:
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_items_keep_their_order_and_a_source_is_added_once(store: Store, tmp_path: Path) -> None:
    session = store.create_session(tmp_path, {"concurrency": 1})
    added = store.add_items(session.id, specs("b.wav", "a.wav", "b.wav"))

    items = store.items(session.id)
    assert added == 2
    assert [i.source for i in items] == ["/media/b.wav", "/media/a.wav"]
    assert [i.position for i in items] == [1, 2]
    assert all(i.status is ItemStatus.QUEUED and i.stage is Stage.QUEUED for i in items)


def test_item_keys_are_stable_across_sessions(store: Store, tmp_path: Path) -> None:
    first = store.create_session(tmp_path, {})
    second = store.create_session(tmp_path, {})
    store.add_items(first.id, specs("a.wav"))
    store.add_items(second.id, specs("a.wav"))

    assert store.items(first.id)[0].key == store.items(second.id)[0].key


def test_state_survives_reopening_the_database(tmp_path: Path) -> None:
    with Store(tmp_path / "state.db") as store:
        session = store.create_session(tmp_path, {"model": "tiny.en"})
        store.add_items(session.id, specs("a.wav"))
        item = store.items(session.id)[0]
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.DONE, outputs=["a.md"], method="local_whisper")

    with Store(tmp_path / "state.db") as reopened:
        item = reopened.items(session.id)[0]
        assert item.status is ItemStatus.DONE
        assert item.outputs == ["a.md"]
        assert item.progress == 1.0
        assert reopened.get_session(session.id).settings == {"model": "tiny.en"}


def test_attempts_are_counted_and_closed(store: Store, tmp_path: Path) -> None:
    session = store.create_session(tmp_path, {})
    store.add_items(session.id, specs("a.wav"))
    item_id = store.items(session.id)[0].id

    assert store.start_item(item_id) == 1
    store.requeue_item(item_id, "network", "connection reset")
    assert store.start_item(item_id) == 2
    store.finish_item(item_id, ItemStatus.FAILED, error_kind="decode", error_message="bad file")

    attempts = store.attempts(item_id)
    assert [a["status"] for a in attempts] == ["queued", "failed"]
    assert all(a["finished_at"] for a in attempts)
    item = store.get_item(item_id)
    assert (item.attempts, item.error_kind, item.stage) == (2, "decode", Stage.FAILED)


def test_interrupted_items_go_back_to_the_queue(store: Store, tmp_path: Path) -> None:
    session = store.create_session(tmp_path, {})
    store.add_items(session.id, specs("a.wav", "b.wav", "c.wav"))
    a, b, _ = store.items(session.id)
    store.start_item(a.id)
    store.finish_item(a.id, ItemStatus.DONE)
    store.start_item(b.id)
    store.set_stage(b.id, Stage.TRANSCRIBING, 0.4)

    assert store.requeue_interrupted(session.id) == 1
    counts = store.counts(session.id)
    assert (counts.done, counts.queued, counts.running) == (1, 2, 0)
    assert store.get_item(b.id).progress == 0


def test_counts_include_audio_done_so_far(store: Store, tmp_path: Path) -> None:
    session = store.create_session(tmp_path, {})
    store.add_items(
        session.id, specs("a.wav", "b.wav"), durations={"/media/a.wav": 60, "/media/b.wav": 40}
    )
    a, b = store.items(session.id)
    store.start_item(a.id)
    store.finish_item(a.id, ItemStatus.DONE)
    store.start_item(b.id)
    store.set_stage(b.id, Stage.TRANSCRIBING, 0.5)

    counts = store.counts(session.id)
    assert counts.audio_seconds_total == 100
    assert counts.audio_seconds_done == pytest.approx(80)


def test_commands_reach_the_runner_through_the_store(store: Store, tmp_path: Path) -> None:
    session = store.create_session(tmp_path, {})
    other_view = Store(store.path)  # e.g. the web app's own connection

    other_view.send_command(session.id, SessionCommand.STOP)
    other_view.request_concurrency(session.id, 1)

    assert store.read_command(session.id) is SessionCommand.STOP
    assert store.requested_concurrency(session.id) == 1
    other_view.close()


def test_many_threads_can_write_at_once(store: Store, tmp_path: Path) -> None:
    session = store.create_session(tmp_path, {})
    store.add_items(session.id, specs(*(f"{n}.wav" for n in range(40))))
    items = store.items(session.id)

    def work(item_id: int) -> None:
        store.start_item(item_id)
        for step in range(10):
            store.set_stage(item_id, Stage.TRANSCRIBING, step / 10)
        store.finish_item(item_id, ItemStatus.DONE)

    threads = [threading.Thread(target=work, args=(i.id,)) for i in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert store.counts(session.id).done == 40


def test_sessions_are_found_by_unique_prefix_or_latest(store: Store, tmp_path: Path) -> None:
    first = store.create_session(tmp_path, {}, session_id="20260101T000000Z-aaaaaa")
    second = store.create_session(tmp_path, {}, session_id="20260102T000000Z-bbbbbb")

    assert store.find_session("20260101").id == first.id
    assert store.find_session("latest").id == second.id
    assert store.find_session("2026") is None  # ambiguous
    assert store.find_session("nope") is None


def test_session_status_and_metrics_round_trip(store: Store, tmp_path: Path) -> None:
    session = store.create_session(tmp_path, {})
    store.set_session_status(session.id, SessionStatus.RUNNING)
    store.update_metrics(session.id, {"items_per_minute": 3.5})

    assert store.get_session(session.id).status is SessionStatus.RUNNING
    assert store.metrics(session.id) == {"items_per_minute": 3.5}


def test_a_database_from_a_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store(path).close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()

    with pytest.raises(PermanentError, match="newer Bulk Transcribe"):
        Store(path)


def test_views_can_read_only_what_finished_since_they_last_looked(
    store: Store, tmp_path: Path
) -> None:
    session = store.create_session(tmp_path, {})
    store.add_items(session.id, specs("a.wav", "b.wav", "c.wav"))
    a, b, _ = store.items(session.id)
    store.start_item(a.id)
    store.finish_item(a.id, ItemStatus.DONE)
    first = store.finished_since(session.id, None)
    store.start_item(b.id)
    store.finish_item(b.id, ItemStatus.FAILED, error_kind="decode", error_message="bad")

    later = store.finished_since(session.id, first[-1].finished_at)

    assert [i.id for i in first] == [a.id]
    assert b.id in [i.id for i in later]
    assert all(i.finished_at >= first[-1].finished_at for i in later)
