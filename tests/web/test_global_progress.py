"""Global progress: what the bar, counters, rates and concurrency notice are made of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bulk_transcribe.models import ItemStatus, SessionStatus, Stage
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.global_progress import concurrency_state, summarise
from bulk_transcribe.web.wording import concurrency_reason
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


def test_the_runners_rate_limit_and_concurrency_figures_are_shown(store: Store) -> None:
    metrics = {
        "rpm_limit": 50,
        "requests_last_60s": 40,
        "count_429": 2,
        "current_concurrency": 2,
    }
    summary = summary_of(store, four_items_one_done_one_half_way(store), metrics)
    assert summary.utilisation == 0.8  # 40 of 50 when the runner gave no ratio itself
    assert summary.count_429 == 2
    assert summary.concurrency.current == 2


def test_rates_are_per_minute_of_running_time_not_of_wall_clock(store: Store) -> None:
    session_id = four_items_one_done_one_half_way(store)
    # The session ran for two minutes in all, whatever the pauses in between.
    summary = summary_of(store, session_id, {"wall_seconds_total": 120.0})
    assert summary.items_per_minute == 0.5
    assert summary.active_seconds == 120.0


def test_the_eta_counts_items_while_lengths_are_unknown_and_audio_once_they_are_known(
    store: Store,
) -> None:
    session_id = four_items_one_done_one_half_way(store)
    done, half, queued, last = store.items(session_id)
    store.update_item_info(done.id, duration=60.0)  # one minute of audio took one minute
    by_items = summary_of(store, session_id, {"wall_seconds_total": 60.0})
    # 2.5 items left at one item a minute, not "< 1 min" from the one known length.
    assert by_items.eta_basis == "items"
    assert by_items.eta_seconds == 150.0

    for item, seconds in ((half, 120.0), (queued, 600.0), (last, 600.0)):
        store.update_item_info(item.id, duration=seconds)
    by_audio = summary_of(store, session_id, {"wall_seconds_total": 60.0})
    assert by_audio.eta_basis == "audio"
    assert by_audio.eta_seconds == 60.0 + 600 + 600  # half of 120 s left, then 2 x 600 s


def test_a_session_nobody_runs_is_paused_not_given_an_eta(store: Store) -> None:
    session_id = four_items_one_done_one_half_way(store)
    summary = summarise(
        store.get_session(session_id),
        store.counts(session_id),
        store.items(session_id),
        {"wall_seconds_total": 60.0},
        None,
        [],
        active=False,
    )
    assert summary.paused and summary.eta_seconds is None


def test_without_metrics_the_active_time_comes_from_the_items(store: Store) -> None:
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


def test_a_garbled_fall_back_reason_reads_as_one_sentence() -> None:
    reason = "concurrency 4 → 1: concurrency 1: parallel processing turned off"
    assert concurrency_reason(reason) == "Parallel processing turned off"


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
