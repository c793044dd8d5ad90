"""Progress reads that stay cheap at any size: counters kept by the schema, an index for
"finished since", and reads that never wait for the runner's writes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bulk_transcribe.models import ItemSpec, ItemStatus, SessionCounts, SourceType, Stage
from bulk_transcribe.store import Store
from bulk_transcribe.store.database import migration_statements
from bulk_transcribe.store.schema import MIGRATIONS


def specs(*names: str) -> list[ItemSpec]:
    return [ItemSpec(source=f"/media/{n}", source_type=SourceType.LOCAL_FILE) for n in names]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "state.db") as opened:
        yield opened


def counted_by_reading_every_item(path: Path, session_id: str) -> SessionCounts:
    """What counts() must say, worked out the slow way, straight from the items."""
    counts = SessionCounts()
    with sqlite3.connect(path) as conn:
        for status, n, seconds, unknown, running, progress in conn.execute(
            "SELECT status, COUNT(*), TOTAL(duration), SUM(duration IS NULL),"
            " TOTAL(duration * progress), TOTAL(progress) FROM items WHERE session_id = ?"
            " GROUP BY status",
            (session_id,),
        ):
            setattr(counts, status, n)
            counts.total += n
            counts.audio_seconds_total += seconds
            if status in ("done", "failed", "skipped"):
                counts.audio_seconds_done += seconds
            if status == "done":
                counts.audio_seconds_transcribed += seconds
            if status in ("queued", "running"):
                counts.unknown_lengths_left += unknown
            if status == "running":
                counts.audio_seconds_done += running
                counts.running_progress = progress
    return counts


def test_counts_follow_every_change_of_an_item(store: Store) -> None:
    session = store.create_session(store.path.parent, {})
    other = store.create_session(store.path.parent, {})
    store.add_items(session.id, specs("a", "b", "c", "d", "e"), durations={"/media/a": 10.0})
    store.add_items(other.id, specs("x"), durations={"/media/x": 99.0})
    a, b, c, d, _ = store.items(session.id)
    steps = [
        lambda: store.start_item(a.id),
        lambda: store.set_stage(a.id, Stage.TRANSCRIBING, 0.5),
        lambda: store.start_item(b.id),
        lambda: store.update_item_info(b.id, duration=30.0),
        lambda: store.finish_item(a.id, ItemStatus.DONE),
        lambda: store.finish_item(b.id, ItemStatus.FAILED, error_kind="network"),
        lambda: store.start_item(c.id),
        lambda: store.requeue_item(c.id, "network", "dropped"),
        lambda: store.start_item(d.id),
        lambda: store.finish_item(d.id, ItemStatus.SKIPPED),
        lambda: store.requeue_failed(session.id),
        lambda: store.start_item(c.id),
        lambda: store.requeue_interrupted(session.id),
    ]
    for step in steps:
        step()
        assert store.counts(session.id) == counted_by_reading_every_item(store.path, session.id)
    assert store.counts(other.id).total == 1
    assert store.counts(other.id).audio_seconds_total == 99.0


def test_the_items_marker_changes_with_every_change_of_an_item(store: Store) -> None:
    session = store.create_session(store.path.parent, {})
    assert store.items_marker(session.id) == (0, 0, 0)
    store.add_items(session.id, specs("a", "b"))
    seen = {store.items_marker(session.id)}
    a, _ = store.items(session.id)
    for change in (
        lambda: store.start_item(a.id),
        lambda: store.set_stage(a.id, Stage.TRANSCRIBING, 0.1),
        lambda: store.set_stage(a.id, Stage.TRANSCRIBING, 0.2),
        lambda: store.finish_item(a.id, ItemStatus.DONE),
        lambda: store.add_items(session.id, specs("c")),
    ):
        change()
        marker = store.items_marker(session.id)
        assert marker not in seen
        seen.add(marker)
    assert marker[0] == 3


def test_a_database_from_before_the_counters_is_counted_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for step in range(1, 6):
            for statement in migration_statements(MIGRATIONS[step]):
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 5")
        conn.execute(
            "INSERT INTO sessions (id, created_at, updated_at, status, out_dir, settings_json)"
            " VALUES ('old', 'x', 'x', 'completed', '.', '{}')"
        )
        conn.executemany(
            "INSERT INTO items (session_id, position, key, source, source_type, status, stage,"
            " duration, revision) VALUES ('old', ?, ?, ?, 'local_file', ?, ?, ?, 3)",
            [(1, "k1", "/a", "done", "done", 5.0), (2, "k2", "/b", "queued", "queued", None)],
        )
    with Store(path) as store:
        counts = store.counts("old")
        assert (counts.total, counts.done, counts.queued) == (2, 1, 1)
        assert counts.audio_seconds_done == 5.0 and counts.unknown_lengths_left == 1
        assert store.items_marker("old")[0] == 2
        assert store.items_marker("old")[2] == 6


def test_deleting_a_session_deletes_its_counters(store: Store) -> None:
    session = store.create_session(store.path.parent, {})
    store.add_items(session.id, specs("a"))
    with store._transaction() as conn:
        conn.execute("DELETE FROM sessions WHERE id = ?", (session.id,))
    assert store.counts(session.id) == SessionCounts()
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM item_counts").fetchone()[0] == 0


def test_finished_since_reads_only_the_items_finished_since(store: Store) -> None:
    session = store.create_session(store.path.parent, {})
    store.add_items(session.id, specs(*"abcdef"))
    items = store.items(session.id)
    for item in items[:4]:
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.DONE)
    since = store.finished_since(session.id, None)[2].finished_at
    later = store.finished_since(session.id, since)
    assert [i.id for i in later][-2:] == [items[2].id, items[3].id]
    assert store.last_finished_at(session.id) == later[-1].finished_at
    with sqlite3.connect(store.path) as conn:
        plan = " ".join(
            row[3]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM items WHERE session_id = ?"
                " AND finished_at IS NOT NULL AND finished_at >= ? ORDER BY finished_at, position",
                (session.id, since),
            )
        )
    assert "USING INDEX items_by_session_finished (session_id=? AND finished_at>" in plan


def test_reads_do_not_wait_for_a_write_in_progress(store: Store) -> None:
    session = store.create_session(store.path.parent, {})
    store.add_items(session.id, specs("a", "b"))
    writing, read_done = threading.Event(), threading.Event()
    answers: list[object] = []
    read_while_writing: list[bool] = []

    def writer() -> None:
        with store._transaction() as conn:  # the runner's lock, held for a write
            conn.execute("UPDATE items SET progress = 0.5")
            writing.set()
            read_while_writing.append(read_done.wait(timeout=10))

    thread = threading.Thread(target=writer)
    thread.start()
    assert writing.wait(timeout=30)
    answers.append(store.counts(session.id).total)
    answers.append(len(store.finished_since(session.id, None)))
    answers.append(store.items_marker(session.id)[0])
    read_done.set()
    thread.join()
    assert read_while_writing == [True]
    assert answers == [2, 0, 2]  # what was committed before the write began


def test_items_are_read_page_by_page_in_order(store: Store) -> None:
    session = store.create_session(store.path.parent, {})
    store.add_items(session.id, specs(*[f"f{n}" for n in range(10)]))
    store.add_items(store.create_session(store.path.parent, {}).id, specs("other"))
    paged = [item.source for item in store.iter_items(session.id, page=3)]
    assert paged == [f"/media/f{n}" for n in range(10)]
    assert [i.source for i in store.first_items(session.id, ItemStatus.QUEUED, 2)] == [
        "/media/f0",
        "/media/f1",
    ]
    ids = store.queued_ids(session.id)
    assert [store.get_item(i).source for i in ids] == paged


def test_items_changed_since_a_marker_are_read_from_an_index(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = store.create_session(store.path.parent, {})
    other = store.create_session(store.path.parent, {})
    store.add_items(session.id, specs(*"abcde"))
    store.add_items(other.id, specs("x"))
    _, b, _, d, _ = store.items(session.id)
    _, last_id, revisions = store.items_marker(session.id)
    assert store.items_changed_since(session.id, revisions, last_id) == []

    store.start_item(b.id)
    store.set_stage(b.id, Stage.TRANSCRIBING, 0.5)
    store.start_item(d.id)
    store.finish_item(d.id, ItemStatus.FAILED, error_kind="network")
    store.start_item(store.items(other.id)[0].id)  # another session's change
    store.add_items(session.id, specs("f"))
    changed = store.items_changed_since(session.id, revisions, last_id)

    assert sorted(i.source for i in changed) == ["/media/b", "/media/d", "/media/f"]
    assert {i.id: i for i in changed}[b.id] == store.get_item(b.id)  # as stored now
    _, last_id, revisions = store.items_marker(session.id)
    store.requeue_failed(session.id)
    assert [i.source for i in store.items_changed_since(session.id, revisions, last_id)] == [
        "/media/d"
    ]
    asked: list[tuple[str, tuple]] = []  # the statement the store runs, planned below
    query = store._query

    def recording_query(sql: str, params=()):
        asked.append((sql, tuple(params)))
        return query(sql, params)

    monkeypatch.setattr(store, "_query", recording_query)
    store.items_changed_since(session.id, revisions, last_id)
    (statement, params), *_ = asked
    with sqlite3.connect(store.path) as conn:
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params))
    assert "USING INDEX items_by_session_changed (session_id=? AND changed>?)" in plan
    assert "USING INTEGER PRIMARY KEY (rowid>?)" in plan  # the new items: by id, not a walk
