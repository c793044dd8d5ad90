"""The status table: one row per item, in queue order, keyed by item so rows update in place."""

from __future__ import annotations

import pandas as pd

from bulk_transcribe.models import ItemStatus, Stage
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.status_table import (
    COLUMNS,
    items_frame,
    status_options,
    visible_items,
)
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
