"""The status table: one row per item, in queue order, keyed by item so rows update in place."""

from __future__ import annotations

import signal
from pathlib import Path

import pandas as pd

from bulk_transcribe.models import ItemStatus, Stage
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.controls import run_state, status_badge
from bulk_transcribe.web.panels.status_table import (
    COLUMNS,
    items_frame,
    status_options,
    visible_items,
)
from bulk_transcribe.web.state.runs import DetachedRuns
from tests.cli.test_lifecycle import gated_run, only_session
from tests.web.conftest import make_session


def test_one_row_per_item_and_a_progress_update_changes_the_row_not_the_row_count(
    store: Store,
) -> None:
    session_id = make_session(store, [f"http://127.0.0.1:9/{n}.mp3" for n in range(3)])
    before = items_frame(store.items(session_id))
    item = store.items(session_id)[1]
    store.start_item(item.id)
    store.set_stage(item.id, Stage.TRANSCRIBING, 0.42)

    after = items_frame(store.items(session_id))

    assert list(after.columns) == COLUMNS
    assert list(after.index) == list(before.index)  # same rows, same order
    row = after.loc[item.id]
    assert (row["Status"], row["Stage"], row["Progress"], row["Attempts"]) == (
        "running",
        "transcribing",
        42.0,
        1,
    )


def test_filtering_searching_and_running_first(store: Store) -> None:
    session_id = make_session(store, [f"http://127.0.0.1:9/{n}.mp3" for n in range(4)])
    failed, _, running, _ = store.items(session_id)
    store.start_item(failed.id)
    store.finish_item(failed.id, ItemStatus.FAILED, error_kind="http", error_message="HTTP 404")
    store.start_item(running.id)
    items = store.items(session_id)

    only_failed = items_frame(visible_items(items, {ItemStatus.FAILED}))
    everything = items_frame(visible_items(items))
    found = items_frame(visible_items(items, search="404"))

    assert list(only_failed["Error"]) == ["The server refused the download: HTTP 404"]
    assert list(everything["#"]) == [3, 1, 2, 4]  # running, failed, then the queue in order
    assert list(found["#"]) == [1]
    assert pd.isna(everything.loc[running.id, "Progress"])  # not "0 %" while it is unknown
    assert status_options(items)[ItemStatus.QUEUED] == 2
    assert status_options(items)[ItemStatus.SKIPPED] == 0


def test_an_item_a_killed_process_left_in_flight_reads_interrupted_not_running(
    tmp_path: Path,
) -> None:
    """kill -9 of a real CLI run: the store still says the item runs, but no process does.
    The table reads it as the session's badge does; while the process lived, "running"."""
    process, db = gated_run(tmp_path)  # held while it transcribes gate_beta, until the kill
    with Store(db) as store:
        session = store.get_session(only_session(db))
        live = run_state(session, DetachedRuns(store))
        live_items = store.items(session.id)
        live_rows = items_frame(live_items, live.active)
        process.send_signal(signal.SIGKILL)
        process.wait()
        session = store.get_session(session.id)
        state = run_state(session, DetachedRuns(store))
        items = store.items(session.id)
        frame = items_frame(visible_items(items), state.active)

    [in_flight] = [item for item in items if item.status is ItemStatus.RUNNING]
    running_then = [item.id for item in live_items if item.status is ItemStatus.RUNNING]
    assert live.active and set(live_rows.loc[running_then, "Status"]) == {"running"}
    assert not state.active
    assert status_badge(session, state)[1] == "stopped: resumable"
    assert frame.loc[in_flight.id, "Status"] == "interrupted — runs again on resume"
    assert "running" not in set(frame["Status"])
