"""The Errors panel: failures grouped by kind, rate-limit events over time, the event log."""

from __future__ import annotations

from bulk_transcribe.models import ItemStatus
from bulk_transcribe.store import Store
from bulk_transcribe.web.errors_panel import events_frame, failures_by_kind, rate_limit_timeline
from tests.web.conftest import make_session


def test_failures_are_grouped_by_kind_largest_group_first(store: Store) -> None:
    session_id = make_session(store, [f"http://127.0.0.1:9/{n}.mp3" for n in range(4)])
    kinds = ["decode", "http", "http", None]
    for item, kind in zip(store.items(session_id), kinds, strict=True):
        if kind:
            store.start_item(item.id)
            store.finish_item(item.id, ItemStatus.FAILED, error_kind=kind, error_message="x")

    groups = failures_by_kind(store.items(session_id))

    assert [(kind, len(items)) for kind, items in groups.items()] == [("http", 2), ("decode", 1)]


def test_rate_limit_events_are_counted_per_minute_and_the_log_is_newest_first(
    store: Store,
) -> None:
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"])
    store.add_event(session_id, "rate_limit", "openai answered 429")
    store.add_event(session_id, "rate_limit", "openai answered 429")
    store.add_event(session_id, "concurrency", "concurrency 3 → 1")
    events = store.events(session_id)

    timeline = rate_limit_timeline(events)
    log = events_frame(events)

    assert timeline["events"].sum() == 2
    assert list(log["Kind"]) == ["concurrency", "rate_limit", "rate_limit"]
