"""Global progress: what the bar, counters, rates and concurrency notice are made of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bulk_transcribe.models import ItemStatus, SessionStatus, Stage
from bulk_transcribe.store import Store
from bulk_transcribe.web.global_progress import concurrency_state, summarise
from tests.web.conftest import make_session


def four_items_one_done_one_half_way(store: Store, concurrency: int = 3) -> str:
    session_id = make_session(
        store,
        [f"http://127.0.0.1:9/{n}.mp3" for n in range(4)],
        concurrency=concurrency,
        status=SessionStatus.RUNNING,
    )
    done, half, *_ = store.items(session_id)
    store.start_item(done.id)
    store.finish_item(done.id, ItemStatus.DONE)
    store.start_item(half.id)
    store.set_stage(half.id, Stage.TRANSCRIBING, 0.5)
    return session_id


def summary_of(store: Store, session_id: str, metrics: dict | None = None, requested=None):
    return summarise(
        store.get_session(session_id),
        store.counts(session_id),
        store.items(session_id),
        metrics or {},
        requested,
        store.events(session_id),
    )


def test_the_bar_counts_finished_items_and_the_running_ones_by_their_progress(
    store: Store,
) -> None:
    summary = summary_of(store, four_items_one_done_one_half_way(store))
    assert summary.fraction == 1.5 / 4
    assert (summary.done, summary.running, summary.remaining, summary.total) == (1, 1, 3, 4)


def test_runner_metrics_are_shown_when_there_are_any(store: Store) -> None:
    metrics = {
        "items_per_minute": 4.0,
        "audio_minutes_per_minute": 12.5,
        "eta_seconds": 90,
        "rpm_limit": 50,
        "requests_last_60s": 40,
        "count_429": 2,
        "current_concurrency": 2,
    }
    summary = summary_of(store, four_items_one_done_one_half_way(store), metrics)
    assert (summary.items_per_minute, summary.audio_minutes_per_minute) == (4.0, 12.5)
    assert summary.eta_seconds == 90
    assert summary.utilisation == 0.8  # 40 of 50 when the runner gave no ratio itself
    assert summary.count_429 == 2
    assert summary.concurrency.current == 2


def test_without_metrics_the_rates_are_estimated_from_the_items(store: Store) -> None:
    session_id = four_items_one_done_one_half_way(store)
    later = datetime.now(UTC) + timedelta(minutes=1)
    summary = summarise(
        store.get_session(session_id),
        store.counts(session_id),
        store.items(session_id),
        {},
        None,
        [],
        now=later,
    )
    assert summary.items_per_minute is not None and 0.5 < summary.items_per_minute < 1.5
    assert summary.eta_seconds is not None and summary.eta_seconds > 0


def test_a_fall_back_reported_by_the_runner_is_shown_with_its_reason(store: Store) -> None:
    session_id = four_items_one_done_one_half_way(store)
    state = concurrency_state(
        store.get_session(session_id),
        {"current_concurrency": 1, "fallback_sequential": True, "fallback_reason": "429 x3"},
        None,
        [],
    )
    assert state.fell_back and state.reason == "429 x3"


def test_a_request_for_one_at_a_time_shows_as_sequential_with_the_stores_reason(
    store: Store,
) -> None:
    session_id = four_items_one_done_one_half_way(store)
    store.add_event(session_id, "concurrency", "concurrency 3 → 1: parallel processing turned off")
    state = concurrency_state(store.get_session(session_id), {}, 1, store.events(session_id))
    assert state.made_sequential and not state.fell_back
    assert state.reason == "concurrency 3 → 1: parallel processing turned off"


def test_a_parallel_session_running_as_asked_shows_no_notice(store: Store) -> None:
    session_id = four_items_one_done_one_half_way(store)
    state = concurrency_state(store.get_session(session_id), {"current_concurrency": 3}, 3, [])
    assert not state.fell_back and not state.made_sequential and state.reason is None
