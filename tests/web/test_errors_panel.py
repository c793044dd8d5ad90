"""The Errors panel: failures grouped by kind, rate-limit events over time, the event log."""

from __future__ import annotations

from bulk_transcribe.models import ItemStatus
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.errors_panel import (
    attempts_frame,
    events_frame,
    failures_by_kind,
    rate_limit_timeline,
    session_log,
    split_failures,
)
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


def test_failures_are_split_into_worth_retrying_and_permanent(store: Store) -> None:
    sources = [f"http://127.0.0.1:9/{n}.mp3" for n in range(4)]
    session_id = make_session(store, sources)
    failures = [
        ("network", "connection reset"),
        ("http", "HTTP 503 from the server"),
        ("http", "HTTP 404: not found"),
        ("not_found", "video removed"),
    ]
    for item, (kind, message) in zip(store.items(session_id), failures, strict=True):
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.FAILED, error_kind=kind, error_message=message)

    split = split_failures(store.items(session_id))

    assert [i.source for i in split.retryable] == sources[:2]
    assert [i.source for i in split.permanent] == sources[2:]


def test_the_session_log_is_plain_text_oldest_first(store: Store) -> None:
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"])
    store.add_event(session_id, "expanded", "playlist: 3 of 3 items kept")
    store.add_event(session_id, "rate_limit", "deapi answered 429")
    lines = session_log(store.events(session_id)).splitlines()
    assert "playlist: 3 of 3" in lines[0] and "deapi answered 429" in lines[1]


def test_every_attempt_of_a_failed_item_shows_what_was_answered(store: Store) -> None:
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"])
    item = store.items(session_id)[0]
    store.start_item(item.id)
    store.set_provider_request_id(item.id, "req-1")
    store.requeue_item(item.id, "provider", "deapi had a server error (HTTP 502): bad gateway")
    store.start_item(item.id)
    store.finish_item(item.id, ItemStatus.FAILED, error_kind="auth", error_message="key refused")

    frame = attempts_frame(store, store.get_item(item.id))

    assert list(frame["Attempt"]) == [1, 2]
    assert "HTTP 502" in frame["Answer"][0] and frame["Request id"][0] == "req-1"
    assert frame["Kind"][1] == "The API key was rejected"
