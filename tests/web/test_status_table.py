"""The status table: one row per item, in queue order, keyed by item so rows update in place."""

from __future__ import annotations

from bulk_transcribe.models import ItemStatus, Stage
from bulk_transcribe.store import Store
from bulk_transcribe.web.status_table import COLUMNS, items_frame, status_options
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


def test_filtering_by_status_and_counting_for_the_filter_buttons(store: Store) -> None:
    session_id = make_session(store, [f"http://127.0.0.1:9/{n}.mp3" for n in range(3)])
    failed = store.items(session_id)[0]
    store.start_item(failed.id)
    store.finish_item(failed.id, ItemStatus.FAILED, error_kind="http", error_message="HTTP 404")
    items = store.items(session_id)

    only_failed = items_frame(items, {ItemStatus.FAILED})

    assert list(only_failed["Error"]) == ["HTTP 404"]
    assert status_options(items)[ItemStatus.QUEUED] == 2
    assert status_options(items)[ItemStatus.SKIPPED] == 0
