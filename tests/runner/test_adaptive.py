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
