"""Throughput and time left follow one rule, whichever view shows them."""

from __future__ import annotations

from bulk_transcribe.figures import pace, time_left
from bulk_transcribe.models import SessionCounts


def counts(**values) -> SessionCounts:
    return SessionCounts(**values)


def test_rates_are_over_running_time_and_skipped_items_took_none() -> None:
    session = counts(total=6, done=2, failed=1, skipped=3, audio_seconds_transcribed=240.0)

    rates = pace(session, active_seconds=180.0)

    assert rates.items_per_minute == 1.0  # three worked items in three minutes
    assert rates.audio_minutes_per_minute == 4 / 3


def test_time_left_counts_items_until_every_length_is_known_then_audio() -> None:
    unknown = counts(
        total=4, done=2, queued=1, running=1, running_progress=0.5,
        audio_seconds_total=300.0, audio_seconds_done=150.0, audio_seconds_transcribed=120.0,
        unknown_lengths_left=1,
    )  # fmt: skip
    rates = pace(unknown, active_seconds=120.0)  # one item and one audio minute a minute

    by_items = time_left(unknown, rates)
    assert (by_items.basis, by_items.seconds) == ("items", 90.0)  # 1.5 items left

    known = counts(**{**unknown.__dict__, "unknown_lengths_left": 0})
    by_audio = time_left(known, rates)
    assert (by_audio.basis, by_audio.seconds) == ("audio", 150.0)  # 2.5 audio minutes left


def test_no_estimate_before_anything_finished_and_none_needed_at_the_end() -> None:
    assert time_left(counts(total=3, queued=3), pace(counts(total=3), 60.0)).seconds is None
    assert time_left(counts(total=3, done=3), pace(counts(total=3, done=3), 60.0)).seconds == 0


def test_while_lengths_are_unknown_the_time_left_comes_with_a_range_from_finished_lengths():
    counts = SessionCounts(
        total=10,
        queued=6,
        done=4,
        audio_seconds_total=400.0,
        audio_seconds_done=400.0,
        audio_seconds_transcribed=400.0,
        unknown_lengths_left=6,
    )
    rates = pace(counts, active_seconds=400.0)  # one audio second per second, 0.6 items/min
    left = time_left(counts, rates, finished_lengths=[50.0, 50.0, 100.0, 200.0])
    assert left.basis == "items" and left.seconds == 600.0
    assert (left.low, left.high) == (300.0, 750.0)  # 6 x 50 s and 6 x 125 s: the 600 s inside
    assert time_left(counts, rates).low is None  # no lengths: no range
