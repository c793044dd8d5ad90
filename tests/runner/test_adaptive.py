"""Concurrency halves on trouble, falls back to sequential, and climbs back when quiet."""

from __future__ import annotations

from bulk_transcribe.runner.adaptive import ConcurrencyController


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def controller(ceiling: int = 8) -> tuple[ConcurrencyController, Clock]:
    clock = Clock()
    return ConcurrencyController(ceiling, quiet_seconds=60, clock=clock), clock


def test_a_violation_halves_concurrency_at_once() -> None:
    adaptive, _ = controller(8)

    change = adaptive.on_violation("provider answered 429")

    assert (change.before, change.after) == (8, 4)
    assert "429" in change.reason
    assert adaptive.limit == 4 and not adaptive.fallback_sequential


def test_continued_violations_fall_back_to_sequential_with_the_reason() -> None:
    adaptive, clock = controller(8)
    adaptive.on_violation("429 from deapi")
    clock.now = 10

    change = adaptive.on_violation("429 from deapi again")

    assert change.after == 1
    assert adaptive.fallback_sequential
    assert adaptive.fallback_reason == "429 from deapi again"
    assert "sequential" in change.reason


def test_climbs_back_one_step_per_quiet_period_up_to_the_ceiling() -> None:
    adaptive, clock = controller(4)
    adaptive.on_violation("429")
    adaptive.on_violation("429")  # sequential now
    steps = []
    for minute in range(1, 8):
        clock.now = 61 * minute
        change = adaptive.tick()
        if change:
            steps.append(change.after)

    assert steps == [2, 3, 4]
    assert not adaptive.fallback_sequential


def test_no_climbing_while_trouble_is_recent() -> None:
    adaptive, clock = controller(4)
    adaptive.on_violation("429")
    clock.now = 30

    assert adaptive.tick() is None
    assert adaptive.limit == 2


def test_resource_pressure_reduces_concurrency() -> None:
    adaptive, _ = controller(6)

    change = adaptive.on_pressure("memory 2100 MB is over the 2048 MB budget")

    assert change.after == 3
    assert "memory" in change.reason


def test_the_user_switch_turns_parallel_off_instantly_and_back_on() -> None:
    adaptive, _ = controller(5)

    off = adaptive.set_ceiling(1)
    on = adaptive.set_ceiling(5)

    assert off.after == 1 and "turned off" in off.reason
    assert on.after == 5
    assert adaptive.limit == 5


def test_a_burst_of_429s_from_requests_already_in_flight_halves_only_once() -> None:
    adaptive, clock = controller(8)
    sent_before = 5.0
    clock.now = 10
    adaptive.on_violation("429", sent_at=sent_before)
    clock.now = 10.5

    burst = [adaptive.on_violation("429", sent_at=sent_before + i * 0.1) for i in range(5)]

    assert burst == [None] * 5
    assert adaptive.limit == 4 and not adaptive.fallback_sequential


def test_a_429_for_a_request_sent_after_the_decrease_still_counts_as_repeated() -> None:
    adaptive, clock = controller(8)
    clock.now = 10
    adaptive.on_violation("429", sent_at=9)
    clock.now = 20

    change = adaptive.on_violation("429 again", sent_at=15)

    assert change.after == 1 and adaptive.fallback_sequential


def test_pressure_cuts_at_most_once_per_quiet_period_then_climbs_back_when_it_eases() -> None:
    adaptive, clock = controller(8)
    cuts = []
    for second in range(0, 150):  # pressure every second for 150 s
        clock.now = second
        change = adaptive.on_pressure("memory grew")
        if change:
            cuts.append((second, change.after))
    assert cuts == [(0, 4), (60, 2), (120, 1)]

    climbs = []
    for second in range(150, 400):  # pressure eased
        clock.now = second
        change = adaptive.tick()
        if change:
            climbs.append(change.after)
    assert climbs == [2, 3, 4, 5]


def test_upload_slots_follow_the_live_limit() -> None:
    adaptive, _ = controller(3)
    held = []
    with adaptive.slots.hold(), adaptive.slots.hold():
        held.append(adaptive.slots.held)
    adaptive.on_violation("429")  # 3 -> 1
    assert adaptive.limit == 1
    with adaptive.slots.hold():
        held.append(adaptive.slots.held)
    assert held == [2, 1]
