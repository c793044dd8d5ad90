"""The shared session cache re-reads only what changed, and sees every change."""

from __future__ import annotations

from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType, Stage
from bulk_transcribe.store import Store
from bulk_transcribe.web.state.snapshot import Snapshots
from tests.web.conftest import make_session


def test_a_view_follows_every_change_and_counts_like_the_store(store: Store) -> None:
    session_id = make_session(store, [f"http://127.0.0.1:9/{n}.mp3" for n in range(5)])
    snapshots = Snapshots(store)
    first = snapshots.view(session_id, max_age=0)
    done, running, *_ = store.items(session_id)
    store.start_item(done.id)
    store.update_item_info(done.id, duration=30.0)
    store.finish_item(done.id, ItemStatus.DONE)
    store.start_item(running.id)
    store.update_item_info(running.id, duration=60.0)
    store.set_stage(running.id, Stage.TRANSCRIBING, 0.5)

    later = snapshots.view(session_id, max_age=0)

    assert [i.status for i in first.items] == [ItemStatus.QUEUED] * 5
    assert [i.status for i in later.items][:2] == [ItemStatus.DONE, ItemStatus.RUNNING]
    assert later.counts == store.counts(session_id)
    assert [i.id for i in later.running] == [running.id]


def test_tabs_within_the_refresh_interval_share_one_read(store: Store) -> None:
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"])
    snapshots = Snapshots(store)
    first = snapshots.view(session_id, max_age=60)
    store.send_command(session_id, None)  # the session row is always read afresh
    second = snapshots.view(session_id, max_age=60)
    assert first.items is second.items


def test_an_exact_view_never_shows_items_read_before_the_session_ended(store: Store) -> None:
    """A stopped or finished session is drawn once: it must be drawn from the items as they
    ended, not from the copy a tab read half a second before (a running item, 0 finished)."""
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"])
    snapshots = Snapshots(store)
    (item,) = store.items(session_id)
    store.start_item(item.id)
    while_running = snapshots.view(session_id, max_age=60)
    store.finish_item(item.id, ItemStatus.DONE)

    shared = snapshots.view(session_id, max_age=60)
    exact = snapshots.view(session_id, max_age=60, exact=True)

    assert [i.status for i in while_running.items] == [ItemStatus.RUNNING]
    assert [i.status for i in shared.items] == [ItemStatus.RUNNING]  # within the interval
    assert [i.status for i in exact.items] == [ItemStatus.DONE]
    assert exact.counts.done == 1


def test_a_refresh_reads_only_the_items_changed_or_added_since_the_last_look(
    store: Store, monkeypatch
) -> None:
    """A monitor refreshes several times a second while a run changes a few items: reading
    every item's revision each time grew with the session (100,000 rows a look)."""
    session_id = make_session(store, [f"http://127.0.0.1:9/{n}.mp3" for n in range(200)])
    snapshots = Snapshots(store)
    snapshots.view(session_id, max_age=0)
    items = store.items(session_id)
    store.start_item(items[3].id)
    store.finish_item(items[3].id, ItemStatus.DONE)
    store.start_item(items[150].id)
    store.add_items(session_id, [ItemSpec("http://127.0.0.1:9/late.mp3", SourceType.HTTP_MEDIA)])
    rows_read: list[int] = []
    query = store._query

    def counting_query(sql: str, params=()):
        rows = query(sql, params)
        if sql.startswith(("SELECT * FROM items", "SELECT id, revision FROM items")):
            rows_read.append(len(rows))  # items read whole, or every item's revision
        return rows

    monkeypatch.setattr(store, "_query", counting_query)
    later = snapshots.view(session_id, max_age=0)

    assert sum(rows_read) == 3  # the two changed and the one added, nothing else
    assert len(later.items) == 201 and later.items[-1].source.endswith("/late.mp3")
    assert later.items[3].status is ItemStatus.DONE
    assert [i.id for i in later.running] == [items[150].id]
    assert later.items == store.items(session_id)
    rows_read.clear()
    assert snapshots.view(session_id, max_age=0).items == later.items  # nothing changed
    assert sum(rows_read) == 0
