"""The cluster-wide request budget: workers in other processes draw from one keeper, and
the driver hears of every change."""

from __future__ import annotations

import time

import pytest
import ray

from bulk_transcribe.runner.executors.ray_budget import ClusterBackend, keeper
from bulk_transcribe.runner.ratelimit import BudgetPolicy

LIMIT, WINDOW = 10, 1.0  # the budget lets 9 through per window (95 %)


pytestmark = pytest.mark.usefixtures("ray_instance")


@ray.remote(num_cpus=0)
def send_requests(provider_id: str, count: int) -> list[float]:
    """A worker of its own: when each of `count` requests was let through."""
    backend = ClusterBackend(provider_id, BudgetPolicy(LIMIT, window_seconds=WINDOW))
    admitted = []
    for _ in range(count):
        backend.acquire()
        admitted.append(time.time())
    return admitted


def most_in_any_window(stamps: list[float], window: float) -> int:
    stamps, best, start = sorted(stamps), 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_workers_in_many_processes_share_one_budget():
    provider_id = "fake@shared"
    runs = ray.get([send_requests.remote(provider_id, 8) for _ in range(3)])
    stamps = [stamp for run in runs for stamp in run]
    assert len(stamps) == 24
    # Alone, each worker would send its 8 at once: 24 in the first window. Stamps are taken
    # a moment after admission, so the check is the provider's own limit, not the 95 %.
    assert most_in_any_window(stamps, WINDOW) <= LIMIT


def test_a_429_anywhere_pauses_everyone_and_the_driver_hears_of_it():
    heard = []
    driver = ClusterBackend(
        "fake@paused", BudgetPolicy(LIMIT, window_seconds=WINDOW), heard.append,
        drains_changes=True,
    )  # fmt: skip
    worker = ClusterBackend("fake@paused", BudgetPolicy(LIMIT, window_seconds=WINDOW))
    worker.acquire()
    worker.record_429(time.time(), retry_after=1.0)
    stats = driver.stats()
    assert stats.count_429 == 1 and stats.paused_seconds > 0
    assert [change.provider for change in heard] == ["fake"]
    assert "429" in heard[0].reason


def test_a_restarted_keeper_answers_again_starting_at_half_the_allowance():
    # A long window: the counts below must not age out while a busy machine restarts Ray's
    # actor (with 1 s, the request counted after the restart was sometimes gone already).
    backend = ClusterBackend("fake@restarted", BudgetPolicy(LIMIT, window_seconds=600))
    backend.acquire()
    assert backend.stats().allowed_per_window == 9
    ray.kill(keeper(), no_restart=False)  # the actor dies; Ray starts it again, empty
    deadline = time.monotonic() + 60
    while True:  # until the restarted keeper takes calls
        try:
            ray.get(keeper().changes.remote())
            break
        except ray.exceptions.RayError:
            assert time.monotonic() < deadline, "the keeper never came back"
            time.sleep(0.2)

    backend.acquire()  # no KeyError: the budget is told again
    stats = backend.stats()
    assert stats.requests_in_window == 1  # the restarted keeper's own count
    assert stats.allowed_per_window == 4  # half of 9: the window before the restart is lost
