"""YouTube's pacing: requests spaced out across threads; a refusal slows everyone, then eases."""

from __future__ import annotations

import itertools
import threading

import pytest

from bulk_transcribe.errors import Cancelled
from bulk_transcribe.sources.pacing import MAX_INTERVAL_SECONDS, Pacer


class FakeClock:
    def __init__(self) -> None:
        self.time = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.time

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.time += seconds


def test_requests_are_spaced_at_least_the_interval_apart() -> None:
    clock = FakeClock()
    pacer = Pacer(2.0, clock=clock.now, sleep=clock.sleep)
    starts = []
    for _ in range(4):
        pacer.wait()
        starts.append(clock.now())
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert starts[0] == 0.0  # the first request does not wait
    assert all(2.0 <= gap <= 2.0 * 1.2 + 1e-9 for gap in gaps)


def test_parallel_workers_share_one_pace() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock.now, sleep=clock.sleep)
    threads = [threading.Thread(target=pacer.wait) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Five turns handed out one interval apart, whoever asked first.
    assert clock.now() >= 4 * 1.0


def test_a_refusal_doubles_the_interval_and_holds_everyone_back() -> None:
    clock = FakeClock()
    pacer = Pacer(2.0, clock=clock.now, sleep=clock.sleep)
    pacer.wait()
    pacer.slow_down(cool_down=30)
    assert pacer.interval == 4.0
    pacer.wait()
    assert clock.now() >= 30
    for _ in range(10):
        pacer.slow_down(cool_down=0)
    assert pacer.interval == MAX_INTERVAL_SECONDS


def test_successes_bring_the_interval_back_towards_the_base() -> None:
    pacer = Pacer(2.0)
    pacer.slow_down(cool_down=0)
    pacer.slow_down(cool_down=0)
    slowed = pacer.interval
    for _ in range(30):
        pacer.succeeded()
    assert 2.0 <= pacer.interval < slowed
    assert pacer.interval == pytest.approx(2.0, abs=0.01)


def test_a_cancelled_run_stops_waiting() -> None:
    clock = FakeClock()
    pacer = Pacer(0, clock=clock.now, sleep=clock.sleep)
    pacer.slow_down(cool_down=600)

    def cancelled() -> None:
        raise Cancelled()

    with pytest.raises(Cancelled):
        pacer.wait(cancelled)
    assert clock.now() < 600
