"""One request budget per provider and key, shared by every worker, session and process.

Each provider (name, API base and key) has one budget: at most 95 % of its limit in any
sliding window. The budget lives in a backend behind a small protocol (`LimiterBackend`):
pyrate-limiter's SQLite bucket under a file lock, shared by every process on the machine (a
CLI run next to the web app), or its in-memory bucket; a cluster-wide backend (a Ray actor)
implements the same five methods. Within a process, `shared_limiter` hands every session the
same limiter object for the same provider.

The budget learns: a 429 pauses the provider for its Retry-After, lowers the allowance to
what the server actually admitted in the window before, and the allowance climbs back slowly
after quiet periods. Every change is a `LimitChange` with its reason, for the event log.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import httpx
from pyrate_limiter import Duration, InMemoryBucket, Rate, RateItem, SQLiteBucket

from bulk_transcribe import workscope
from bulk_transcribe.engines.http_errors import (
    error_detail,
    is_quota_answer,
    reset_seconds,
    retry_after_of_429,
)
from bulk_transcribe.engines.presets import resolve_provider
from bulk_transcribe.errors import ErrorKind, TranscribeError, TransientError
from bulk_transcribe.figures import clock_time
from bulk_transcribe.settings import Settings

log = logging.getLogger(__name__)

SAFETY_MARGIN = 0.95  # never use more than 95 % of a provider's limit in any window
WINDOW_SECONDS = 60.0
QUIET_SECONDS = 60.0
WINDOW_GUARD_FRACTION = 0.02
WINDOW_GUARD_MIN_SECONDS = 0.25
WINDOW_GUARD_MAX_SECONDS = 1.0
BURST_SLICES = 10
# After a 429 the learned allowance holds for this many quiet periods before it climbs: the
# server just told us its real limit, so creeping back up soon would only find it again.
HOLD_QUIET_PERIODS = 5
# Fewer requests than this in a window say little about a limit (someone else may share the
# key, or the server had a moment of overload): then a 429 only pauses, as asked.
MIN_ADMITTED_TO_LEARN = 10
CLIMB_FRACTION = 0.1  # each climb adds a tenth of the allowance (at least one request)
UNLIMITED = 10**9  # providers without a known limit: count requests, admit all
LEAK_EVERY = 50  # acquisitions between clean-ups of expired entries
MAX_WAIT_STEP = 1.0  # re-check a shared budget at least this often while waiting
MAX_QUEUED_CHANGES = 1000  # a session that never drains them keeps only the latest
# Permits are taken from a shared budget a few at a time, so the cross-process lock is taken
# once per batch, not once per request: up to this many, one per this many of the allowance
# (a budget of fewer than 200 per window takes them one at a time, as before).
MAX_BATCH = 8
ALLOWANCE_PER_BATCHED_PERMIT = 100
# A permit taken early is used within this time or never: less than the window's guard, so
# the requests sent in any window never outnumber the allowance (see BucketBackend).
MAX_HOLD_SECONDS = 0.1
# The longest pause a budget keeps (Settings.max_provider_pause_seconds): a provider asking
# for more is unavailable, which the runner handles by ending the run, not by waiting.
MAX_PAUSE_SECONDS = 300.0


@dataclass(frozen=True)
class LimitChange:
    """A change to a provider's budget, with the reason a user reads in the event log."""

    provider: str
    before: int | None  # allowance per window; None: no limit known
    after: int | None
    paused_seconds: float
    reason: str


@dataclass(frozen=True)
class LimiterStats:
    provider: str
    rpm_limit: int | None  # the configured limit per window; None: not known
    allowed_per_window: int | None  # what the budget allows now (95 %, or less once learned)
    requests_in_window: int  # by every process sharing the budget
    utilisation: float  # requests in the last window against the configured limit
    count_429: int
    waiting: int  # workers of this process blocked on this budget right now
    paused_seconds: float  # left of a pause a provider asked for


@dataclass
class BudgetState:
    """What a budget has learned; kept by the backend, so every sharer sees it."""

    learned: int | None = None  # allowance learned from a 429; None: the configured one
    paused_until: float = 0.0  # epoch seconds
    last_429: float = 0.0
    last_change: float = 0.0
    count_429: int = 0


class BudgetPolicy:
    """How a budget turns limits and 429s into an allowance: pure, shared by every backend."""

    def __init__(
        self,
        rpm: int | None,
        *,
        window_seconds: float = WINDOW_SECONDS,
        quiet_seconds: float = QUIET_SECONDS,
        safety_margin: float = SAFETY_MARGIN,
        max_pause_seconds: float = MAX_PAUSE_SECONDS,
    ):
        self.rpm = rpm
        self.window_seconds = window_seconds
        self.quiet_seconds = quiet_seconds
        self.safety_margin = safety_margin
        self.max_pause_seconds = max_pause_seconds

    def paused_until(self, state: BudgetState, now: float) -> float:
        """When the pause ends; never later than the longest pause from now, whoever wrote
        it (an older version, a process with a longer setting)."""
        return min(state.paused_until, now + self.max_pause_seconds)

    @property
    def configured(self) -> int | None:
        return max(1, math.floor(self.rpm * self.safety_margin)) if self.rpm else None

    @property
    def guard_seconds(self) -> float:
        """Added to the window the budget counts in (see `rates`)."""
        return min(
            WINDOW_GUARD_MAX_SECONDS,
            max(WINDOW_GUARD_MIN_SECONDS, WINDOW_GUARD_FRACTION * self.window_seconds),
        )

    def batch(self, allowance: int | None) -> int:
        """How many permits to take at once from a budget of `allowance` per window."""
        if allowance is None:
            return MAX_BATCH
        return max(1, min(MAX_BATCH, allowance // ALLOWANCE_PER_BATCHED_PERMIT))

    def allowance(self, state: BudgetState) -> int | None:
        limits = [a for a in (self.configured, state.learned) if a is not None]
        return min(limits) if limits else None

    def rates(self, allowance: int | None) -> list[Rate]:
        # The provider counts arrivals, we count departures: a request admitted early in our
        # window can land late in theirs. A small guard on the window and a cap on bursts
        # (a tenth of the allowance per tenth of the window, plus one) absorb that skew.
        window_ms = int((self.window_seconds + self.guard_seconds) * Duration.SECOND)
        if allowance is None:
            return [Rate(UNLIMITED, window_ms)]
        burst = math.ceil(allowance / BURST_SLICES) + 1
        if burst >= allowance:
            return [Rate(allowance, window_ms)]
        return [Rate(burst, max(1, window_ms // BURST_SLICES)), Rate(allowance, window_ms)]

    def on_429(
        self,
        state: BudgetState,
        label: str,
        now: float,
        admitted: int,
        retry_after: float | None,
        sent_at: float | None = None,
    ) -> LimitChange:
        """A 429: pause for the Retry-After and lower the allowance to what was admitted.

        A request sent before the previous 429 arrived was already in flight: it is counted
        and its Retry-After honoured, but it teaches nothing new about the limit. The
        allowance never drops below half of what it was at once.
        """
        before = self.allowance(state)
        asked = retry_after if retry_after is not None else min(self.window_seconds / 12, 5.0)
        pause = min(asked, self.max_pause_seconds)
        in_flight = sent_at is not None and sent_at < state.last_429
        state.count_429 += 1
        state.last_429 = max(state.last_429, now)
        state.paused_until = max(state.paused_until, now + pause)
        learned = None
        if admitted >= MIN_ADMITTED_TO_LEARN and not in_flight:
            learned = max(1, math.floor(admitted * self.safety_margin))
            if before is not None:
                learned = max(learned, before // 2)
        if learned is not None and (before is None or learned < before):
            state.learned = learned
            state.last_change = now
        after = self.allowance(state)
        said = f" (Retry-After {retry_after:g} s)" if retry_after is not None else ""
        reason = f"{label} answered 429{said}: pausing its requests for {pause:.1f} s"
        if asked > pause:
            reason = (
                f"{label} answered 429{said}: unavailable until {clock_time(now + asked)}, "
                f"longer than the longest pause waited for ({self.max_pause_seconds:g} s); "
                "runs using it stop: resume after then"
            )
        if after != before:
            reason += (
                f"; allowance {_per_window(before)} → {after} requests per "
                f"{self.window_seconds:g} s, 95 % of the {admitted} it admitted"
            )
        return LimitChange(label, before, after, pause, reason)

    def relax(self, state: BudgetState, label: str, now: float) -> LimitChange | None:
        """Climb back a step after enough quiet; back to the configured limit in the end."""
        if state.learned is None:
            return None
        held = now - state.last_429 >= HOLD_QUIET_PERIODS * self.quiet_seconds
        if not held or now - state.last_change < self.quiet_seconds:
            return None
        before = self.allowance(state)
        step = max(1, math.ceil(state.learned * CLIMB_FRACTION))
        state.learned += step
        configured = self.configured
        if configured is not None and state.learned >= configured:
            state.learned = None
        state.last_change = now
        after = self.allowance(state)
        quiet = now - state.last_429
        reason = (
            f"{label}: no 429 for {quiet:.0f} s; allowance {_per_window(before)} → "
            f"{_per_window(after)} requests per {self.window_seconds:g} s"
        )
        return LimitChange(label, before, after, 0.0, reason)


def _per_window(allowance: int | None) -> str:
    return "unlimited" if allowance is None else str(allowance)


class LimiterTimeout(TransientError):
    def __init__(self, label: str, timeout: float):
        super().__init__(
            ErrorKind.RATE_LIMITED,
            f"{label}: no room in the rate limit within {timeout:.0f} s; will retry",
        )


def wait_for_admission(
    try_acquire: Callable[[], float],
    label: str,
    timeout: float | None,
    cancel: threading.Event | None,
    on_wait: Callable[[bool], None] | None,
) -> float:
    """Wait until `try_acquire` admits a request (it returns the seconds still to wait, <= 0
    when admitted); the one waiting loop of every budget backend. Returns the seconds waited."""
    started = time.monotonic()
    notified = False
    try:
        while True:
            workscope.raise_if_cancelled(cancel)
            wait = try_acquire()
            if wait <= 0:
                break
            if timeout is not None and time.monotonic() - started + wait > timeout:
                raise LimiterTimeout(label, timeout)
            if on_wait and not notified:
                on_wait(True)
                notified = True
            workscope.sleep(min(wait, MAX_WAIT_STEP), cancel)
    finally:
        if notified and on_wait:
            on_wait(False)  # also when the wait ends in a cancel or a timeout
    return time.monotonic() - started


class LimiterBackend(Protocol):
    """Where one provider's budget lives: this process, this machine, or a cluster."""

    def acquire(
        self,
        weight: int = 1,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
        on_wait: Callable[[bool], None] | None = None,
    ) -> float:
        """Block until `weight` requests may be sent; the seconds waited. Raises Cancelled
        when `cancel` (or the current item's cancel) is set, LimiterTimeout after `timeout`."""
        ...

    def record_429(self, sent_at: float, retry_after: float | None) -> LimitChange:
        """A request admitted at `sent_at` (epoch seconds) got 429: pause and learn."""
        ...

    def observe_limits(self, remaining: int | None, reset_seconds: float | None) -> None:
        """Rate-limit headers of a successful answer: pause when nothing remains."""
        ...

    def stats(self) -> LimiterStats: ...

    def close(self) -> None: ...


class _StateStore(Protocol):
    def load(self) -> BudgetState: ...

    def save(self, state: BudgetState) -> None: ...

    def exists(self) -> bool: ...


class _MemoryState:
    def __init__(self) -> None:
        self._state = BudgetState()

    def load(self) -> BudgetState:
        return replace(self._state)

    def save(self, state: BudgetState) -> None:
        self._state = replace(state)

    def exists(self) -> bool:
        return True


class _SqliteState:
    """The learned state in the bucket's own SQLite file, under the same file lock."""

    def __init__(self, conn: sqlite3.Connection, key: str):
        self._conn, self._key = conn, key
        conn.execute(
            "CREATE TABLE IF NOT EXISTS budget_state (key TEXT PRIMARY KEY, learned INTEGER, "
            "paused_until REAL, last_429 REAL, last_change REAL, count_429 INTEGER)"
        )
        conn.commit()

    def load(self) -> BudgetState:
        row = self._conn.execute(
            "SELECT learned, paused_until, last_429, last_change, count_429 FROM budget_state "
            "WHERE key = ?",
            (self._key,),
        ).fetchone()
        return BudgetState(*row) if row else BudgetState()

    def exists(self) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM budget_state WHERE key = ?", (self._key,)
        ).fetchone()
        return row is not None

    def save(self, state: BudgetState) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO budget_state VALUES (?,?,?,?,?,?)",
            (self._key, state.learned, state.paused_until, state.last_429, state.last_change,
             state.count_429),
        )  # fmt: skip
        self._conn.commit()


class BucketBackend:
    """A budget kept in a pyrate-limiter bucket (the sliding-window log) plus its state.

    pyrate-limiter decides admission against the current allowance; this class adds what it
    does not know about: pauses a provider asks for and an allowance that learns.

    A large budget's permits are taken a few at a time under the lock and handed out here,
    each within MAX_HOLD_SECONDS of being recorded or never. The bucket counts over the
    window plus its guard (at least 0.25 s), so requests sent in any window were recorded
    within a span of the window plus the hold, shorter than that: never above the allowance.
    A permit not used in time is wasted, never reused.
    """

    def __init__(
        self,
        label: str,
        policy: BudgetPolicy,
        bucket: SQLiteBucket | InMemoryBucket,
        lock: contextlib.AbstractContextManager,
        state: _StateStore,
        count_between: Callable[[int, int], int],
        on_change: Callable[[LimitChange], None] | None = None,
        *,
        give_back: Callable[[int, int], None] | None = None,
    ):
        self.label = label
        self.policy = policy
        # Batches only where the lock is shared by processes (the cost they save), and only
        # with a way to take back from the bucket permits recorded but never sent:
        # give_back(timestamp_ms, count) under the lock.
        self._give_back = give_back
        self._bucket = bucket
        self._lock = lock
        self._state = state
        self._count_between = count_between
        self._on_change = on_change
        self._local = threading.Lock()
        self._waiting = 0
        self._acquired = 0
        self._held = 0  # permits recorded in the bucket, not yet handed out
        self._held_at_ms = 0  # when they were recorded (the bucket's timestamp)
        self._held_until = 0.0  # time.monotonic() after which they are void
        self._unsent: list[tuple[int, int]] = []  # void permits: (timestamp_ms, count)

    def acquire(
        self,
        weight: int = 1,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
        on_wait: Callable[[bool], None] | None = None,
    ) -> float:
        with self._counted_waiting():
            return wait_for_admission(
                lambda: self.try_acquire(weight), self.label, timeout, cancel, on_wait
            )

    def try_acquire(self, weight: int) -> float:
        """0 when `weight` requests were admitted, else the seconds worth waiting first."""
        if weight == 1 and self._take_held():
            return 0.0
        changes: list[LimitChange] = []
        with self._lock:
            self._return_unsent()
            now = time.time()
            state = self._state.load()
            change = self.policy.relax(state, self.label, now)
            if change is not None:
                self._state.save(state)
                changes.append(change)
            paused_until = self.policy.paused_until(state, now)
            if paused_until > now:
                wait = paused_until - now
            else:
                allowance = self.policy.allowance(state)
                self._bucket.rates = self.policy.rates(allowance)
                now_ms = int(now * 1000)
                taken = weight
                if weight == 1 and self._give_back is not None:
                    taken = self.policy.batch(allowance)
                decision = self._bucket.put_decision(RateItem(self.label, now_ms, taken))
                if not decision.allowed and taken > weight:  # no room for a batch: one, then
                    taken = weight
                    decision = self._bucket.put_decision(RateItem(self.label, now_ms, taken))
                if decision.allowed:
                    wait = 0.0
                    self._hold(taken - weight, now_ms)
                    self._acquired += 1
                    if self._acquired % LEAK_EVERY == 0:
                        self._bucket.leak(now_ms)
                else:
                    retry_ms = decision.retry_after_ms
                    wait = max(0.01, (retry_ms if retry_ms is not None else 50) / 1000)
        self._publish(changes)
        return wait

    def _hold(self, permits: int, recorded_ms: int) -> None:
        if permits > 0:
            hold = min(MAX_HOLD_SECONDS, self.policy.guard_seconds / 2)
            with self._local:
                self._set_aside()
                self._held, self._held_at_ms = permits, recorded_ms
                self._held_until = time.monotonic() + hold

    def _take_held(self) -> bool:
        with self._local:
            if self._held > 0 and time.monotonic() <= self._held_until:
                self._held -= 1
                return True
            self._set_aside()
            return False

    def _void_held(self) -> None:
        """A pause or a 429: permits taken before it must not be used after it."""
        with self._local:
            self._set_aside()

    def _set_aside(self) -> None:
        """Held permits become void (with self._local held); they are given back later."""
        if self._held > 0:
            self._unsent.append((self._held_at_ms, self._held))
        self._held = 0

    def _held_now(self) -> int:
        with self._local:
            if time.monotonic() > self._held_until:
                self._set_aside()
            return self._held

    def _return_unsent(self) -> None:
        """Take void permits out of the bucket (with self._lock held): the budget then counts
        exactly the requests sent, for what a 429 teaches and for the stats."""
        with self._local:
            unsent, self._unsent = self._unsent, []
        if self._give_back is not None:
            for recorded_ms, count in unsent:
                self._give_back(recorded_ms, count)

    def restart_conservatively(self) -> None:
        """This budget forgot its window (its keeper restarted, its file was deleted)."""
        with self._lock:
            self._state.save(_conservative_start(self.policy))

    def record_429(self, sent_at: float, retry_after: float | None) -> LimitChange:
        self._void_held()
        window_ms = int(self.policy.window_seconds * 1000)
        sent_ms = int(sent_at * 1000)
        with self._lock:
            self._return_unsent()
            # What the server admitted: the window's requests before this one (which the
            # limiter admitted, so it counts itself), by every process sharing the budget.
            # (Permits another process holds right now, a few at most, count as admitted.)
            admitted = max(0, self._count_between(sent_ms - window_ms, sent_ms + 1) - 1)
            state = self._state.load()
            change = self.policy.on_429(
                state, self.label, time.time(), admitted, retry_after, sent_at
            )
            self._state.save(state)
        log.info("%s", change.reason)
        self._publish([change])
        return change

    def observe_limits(self, remaining: int | None, reset_seconds: float | None) -> None:
        if remaining != 0 or not reset_seconds:
            return
        self._void_held()
        with self._lock:
            state = self._state.load()
            reset = min(reset_seconds, self.policy.max_pause_seconds)
            state.paused_until = max(state.paused_until, time.time() + reset)
            self._state.save(state)

    def stats(self) -> LimiterStats:
        changes: list[LimitChange] = []
        with self._lock:
            self._held_now()  # expired permits are set aside, to be given back now
            self._return_unsent()
            now = time.time()
            state = self._state.load()
            change = self.policy.relax(state, self.label, now)
            if change is not None:
                self._state.save(state)
                changes.append(change)
            now_ms = int(now * 1000)
            in_window = (
                self._count_between(now_ms - int(self.policy.window_seconds * 1000), now_ms + 1)
                - self._held_now()
            )  # taken ahead, not sent yet
        self._publish(changes)
        rpm = self.policy.rpm
        return LimiterStats(
            provider=self.label,
            rpm_limit=rpm,
            allowed_per_window=self.policy.allowance(state),
            requests_in_window=in_window,
            utilisation=in_window / rpm if rpm else 0.0,
            count_429=state.count_429,
            waiting=self._waiting,
            paused_seconds=max(0.0, self.policy.paused_until(state, now) - now),
        )

    def close(self) -> None:
        self._bucket.close()

    def _publish(self, changes: list[LimitChange]) -> None:
        if self._on_change is not None:
            for change in changes:
                self._on_change(change)

    @contextlib.contextmanager
    def _counted_waiting(self) -> Iterator[None]:
        with self._local:
            self._waiting += 1
        try:
            yield
        finally:
            with self._local:
                self._waiting -= 1


def memory_backend(
    label: str, policy: BudgetPolicy, on_change: Callable[[LimitChange], None] | None = None
) -> BucketBackend:
    """A budget for this process only."""
    bucket = InMemoryBucket(policy.rates(policy.configured))

    def count_between(start_ms: int, end_ms: int) -> int:
        return sum(
            item.weight for item in list(bucket.items) if start_ms <= item.timestamp < end_ms
        )

    return BucketBackend(
        label, policy, bucket, threading.RLock(), _MemoryState(), count_between, on_change
    )


def machine_backend(
    path: Path,
    provider_id: str,
    label: str,
    policy: BudgetPolicy,
    on_change: Callable[[LimitChange], None] | None = None,
) -> BucketBackend:
    """A budget shared by every process on this machine: a SQLite file under a file lock."""
    return FileBudget(path, provider_id, label, policy, on_change)


class FileBudget(BucketBackend):
    """A machine-wide budget that outlives its file: deleted meanwhile (a cache cleaner),
    it is created again, starting at half the allowance, since the requests of the window
    it forgot may still count at the provider; it climbs back as after a 429."""

    def __init__(
        self,
        path: Path,
        provider_id: str,
        label: str,
        policy: BudgetPolicy,
        on_change: Callable[[LimitChange], None] | None = None,
    ):
        self._path, self._provider_id = path, provider_id
        self._table = "budget_" + hashlib.sha256(provider_id.encode()).hexdigest()[:16]
        self._identity: tuple[int, int] | None = None
        self._label = label
        bucket, lock, state, count_between, give_back = self._open(policy, fresh=False)
        super().__init__(
            label, policy, bucket, lock, state, count_between, on_change, give_back=give_back
        )

    def _open(self, policy: BudgetPolicy, *, fresh: bool) -> tuple:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        if fresh and not self._path.exists():  # a deleted file's journal is never replayed
            for leftover in ("-wal", "-shm"):
                Path(str(self._path) + leftover).unlink(missing_ok=True)
        table = self._table
        bucket = SQLiteBucket.init_from_file(
            policy.rates(policy.configured), table=table, db_path=str(self._path),
            use_file_lock=True,
        )  # fmt: skip
        lock = bucket.lock  # a reentrant FileLock: one holder across threads and processes
        with lock:
            state = _SqliteState(bucket.conn, self._provider_id)
            if fresh and not state.exists():  # another process may have started it already
                state.save(_conservative_start(policy))
            info = os.stat(self._path)
            self._identity = (info.st_dev, info.st_ino)

        def count_between(start_ms: int, end_ms: int) -> int:
            row = bucket.conn.execute(
                f"SELECT COUNT(*) FROM '{table}' WHERE item_timestamp >= ? AND item_timestamp < ?",
                (start_ms, end_ms),
            ).fetchone()
            return int(row[0])

        def give_back(recorded_ms: int, count: int) -> None:
            bucket.conn.execute(
                f"DELETE FROM '{table}' WHERE rowid IN (SELECT rowid FROM '{table}'"
                " WHERE name = ? AND item_timestamp = ? LIMIT ?)",
                (self._label, recorded_ms, count),
            )
            bucket.conn.commit()

        return bucket, lock, state, count_between, give_back

    def _still_there(self) -> bool:
        try:
            info = os.stat(self._path)
        except FileNotFoundError:
            return False
        return (info.st_dev, info.st_ino) == self._identity

    def _reopen_if_deleted(self) -> None:
        if self._still_there():
            return
        log.warning("the request budget file %s was deleted; starting it again", self._path)
        old = self._bucket
        bucket, lock, state, count_between, give_back = self._open(self.policy, fresh=True)
        self._bucket, self._lock, self._state, self._count_between, self._give_back = (
            bucket, lock, state, count_between, give_back,
        )  # fmt: skip
        with contextlib.suppress(Exception):
            old.close()

    def try_acquire(self, weight: int) -> float:
        self._reopen_if_deleted()
        return super().try_acquire(weight)

    def record_429(self, sent_at: float, retry_after: float | None) -> LimitChange:
        self._reopen_if_deleted()
        return super().record_429(sent_at, retry_after)

    def observe_limits(self, remaining: int | None, reset_seconds: float | None) -> None:
        self._reopen_if_deleted()
        super().observe_limits(remaining, reset_seconds)

    def stats(self) -> LimiterStats:
        self._reopen_if_deleted()
        return super().stats()


def _conservative_start(policy: BudgetPolicy) -> BudgetState:
    """A budget that forgot its window: half the allowance, climbing back after quiet."""
    now = time.time()
    configured = policy.configured
    learned = max(1, configured // 2) if configured is not None else None
    return BudgetState(learned=learned, last_change=now)


def default_budget_path() -> Path:
    """The machine-wide budget file, per user: every process of this user shares it."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "bulk-transcribe" / "rate_limits.sqlite"


class ProviderLimiter:
    """One provider's budget as this process sees it: the backend plus who wants to hear of
    its changes (every session using the provider records them in its event log)."""

    def __init__(
        self,
        provider_id: str,
        policy: BudgetPolicy,
        make_backend: Callable[[BudgetPolicy, Callable[[LimitChange], None]], LimiterBackend],
    ):
        self.provider_id = provider_id
        self.label = label_of(provider_id)
        self.policy = policy
        self._listeners: list[Callable[[LimitChange], None]] = []
        self._listeners_lock = threading.Lock()
        self.backend = make_backend(policy, self.broadcast)

    def set_rpm(self, rpm: int | None) -> None:
        """The limit the latest session was configured with (its user's latest word)."""
        self.policy.rpm = rpm

    def subscribe(self, listener: Callable[[LimitChange], None]) -> Callable[[], None]:
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def broadcast(self, change: LimitChange) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(change)
            except Exception:  # one session's store trouble must not break another's request
                log.exception("recording a rate-limit change failed")

    def acquire(
        self,
        on_wait: Callable[[bool], None] | None = None,
        *,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
    ) -> float:
        return self.backend.acquire(1, timeout=timeout, cancel=cancel, on_wait=on_wait)

    def observe(self, response: httpx.Response, sent_at: float | None = None) -> bool:
        """Learn from a response; True when it was a rate-limit violation (429)."""
        headers = response.headers
        if response.status_code in (402, 429) and _is_quota(response):
            return False  # out of credit: a permanent error, and nothing about the limit
        if response.status_code == 429:
            sent = sent_at if sent_at is not None else time.time()
            self.backend.record_429(sent, retry_after_of_429(headers))
            return True
        remaining = headers.get("x-ratelimit-remaining-requests")
        if remaining is not None and remaining.strip() == "0":
            self.backend.observe_limits(0, reset_seconds(headers.get("x-ratelimit-reset-requests")))
        return False

    def stats(self) -> LimiterStats:
        return self.backend.stats()

    def close(self) -> None:
        self.backend.close()


def _is_quota(response: httpx.Response) -> bool:
    with contextlib.suppress(httpx.HTTPError, RuntimeError):
        response.read()  # an error body is small; the client reads it from memory after
    detail, code = error_detail(getattr(response, "_content", b""))
    return is_quota_answer(response.status_code, detail, code)


def label_of(provider_id: str) -> str:
    """The readable part of a provider id ("deapi@1a2b3c" -> "deapi"); the fingerprint is
    after the last "@" (a chat endpoint's URL may hold one of its own)."""
    return provider_id.rpartition("@")[0] or provider_id


_registry: dict[tuple[str, str], ProviderLimiter] = {}
_registry_lock = threading.Lock()


# Budgets kept elsewhere than on this machine: a Ray cluster's, set by the Ray executor in
# every process that sends requests (the driver and each of its workers).
RemoteBudgets = Callable[[str, BudgetPolicy, Callable[[LimitChange], None]], LimiterBackend]
_remote_budgets: RemoteBudgets | None = None


def use_remote_budgets(make: RemoteBudgets | None) -> None:
    """From now on this process's budgets come from `make(provider_id, policy, publish)`;
    None: back to this machine's."""
    global _remote_budgets
    with _registry_lock:
        _remote_budgets = make


def shared_limiter(
    provider_id: str,
    rpm: int | None,
    *,
    window_seconds: float = WINDOW_SECONDS,
    quiet_seconds: float = QUIET_SECONDS,
    budget_path: Path | None = None,
    max_pause_seconds: float = MAX_PAUSE_SECONDS,
) -> ProviderLimiter:
    """The process's one limiter for this provider and key; created on first use.

    `budget_path` None keeps the budget in this process (tests of the policy); a path shares
    it with every process on the machine that names the same file.
    """
    with _registry_lock:
        remote = _remote_budgets
        key = (str(budget_path or ":memory:") if remote is None else repr(remote), provider_id)
        limiter = _registry.get(key)
        if limiter is None:
            policy = BudgetPolicy(
                rpm,
                window_seconds=window_seconds,
                quiet_seconds=quiet_seconds,
                max_pause_seconds=max_pause_seconds,
            )
            label = label_of(provider_id)

            def make(
                policy: BudgetPolicy, publish: Callable[[LimitChange], None]
            ) -> LimiterBackend:
                if remote is not None:
                    return remote(provider_id, policy, publish)
                if budget_path is None:
                    return memory_backend(label, policy, publish)
                return machine_backend(budget_path, provider_id, label, policy, publish)

            limiter = ProviderLimiter(provider_id, policy, make)
            _registry[key] = limiter
        else:
            limiter.policy.window_seconds = window_seconds
            limiter.policy.quiet_seconds = quiet_seconds
            limiter.policy.max_pause_seconds = max_pause_seconds
            if rpm is not None or limiter.policy.rpm is None:
                limiter.set_rpm(rpm)
        return limiter


class RateLimitHook:
    """The RequestHook every engine's HTTP client goes through, for one session.

    Limiters come from the process-wide registry, so two sessions using one provider share
    its budget; the hook only adds what the session wants to hear: waits and 429s as they
    happen (on the requesting worker's thread), and every change to the budgets it uses,
    whoever caused it, queued for the session's coordinator (`drain_changes`).
    """

    def __init__(
        self,
        *,
        window_seconds: float = WINDOW_SECONDS,
        quiet_seconds: float = QUIET_SECONDS,
        budget_path: Path | None = None,
        max_pause_seconds: float = MAX_PAUSE_SECONDS,
        on_wait: Callable[[bool], None] | None = None,
        on_violation: Callable[[str, httpx.Response, float], None] | None = None,
    ):
        self.window_seconds = window_seconds
        self.quiet_seconds = quiet_seconds
        self.max_pause_seconds = max_pause_seconds
        self.budget_path = budget_path
        self.limiters: dict[str, ProviderLimiter] = {}
        self._lock = threading.Lock()
        self._on_wait = on_wait
        self._on_violation = on_violation
        self._changes: deque[LimitChange] = deque(maxlen=MAX_QUEUED_CHANGES)
        self._unsubscribe: list[Callable[[], None]] = []

    def set_limit(self, provider_id: str, rpm: int | None) -> ProviderLimiter:
        """Use the shared budget of `provider_id`, limited to `rpm` per window (95 % of it)."""
        limiter = shared_limiter(
            provider_id,
            rpm,
            window_seconds=self.window_seconds,
            quiet_seconds=self.quiet_seconds,
            budget_path=self.budget_path,
            max_pause_seconds=self.max_pause_seconds,
        )
        with self._lock:
            if provider_id not in self.limiters:
                self.limiters[provider_id] = limiter
                self._unsubscribe.append(limiter.subscribe(self._changes.append))
        return limiter

    def limiter(self, provider_id: str) -> ProviderLimiter:
        """The provider's budget; one without a known limit still pauses and learns on 429."""
        with self._lock:
            known = self.limiters.get(provider_id)
        return known or self.set_limit(provider_id, None)

    def before_request(self, provider: str, request: httpx.Request) -> None:
        self.limiter(provider).acquire(self._on_wait)
        request.extensions["bulk_transcribe_sent"] = time.time()

    def after_response(
        self, provider: str, request: httpx.Request, response: httpx.Response
    ) -> None:
        sent_wall = request.extensions.get("bulk_transcribe_sent", time.time())
        try:
            violated = self.limiter(provider).observe(response, sent_wall)
        except Exception:  # the answer may be paid for: keep it, whatever the budget
            log.exception("learning from %s's response headers failed", label_of(provider))
            return
        if violated and self._on_violation:
            self._on_violation(label_of(provider), response, sent_wall)

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        on_wait: Callable[[bool], None] | None = None,
        on_violation: Callable[[str, httpx.Response, float], None] | None = None,
    ) -> RateLimitHook:
        """The hook for a session (or a preflight) run with `settings`: the machine-wide
        budget file, the settings' window, and the provider's limit set up front."""
        hook = cls(
            window_seconds=settings.rate_window_seconds,
            quiet_seconds=settings.quiet_seconds,
            budget_path=settings.rate_limit_db or default_budget_path(),
            max_pause_seconds=settings.max_provider_pause_seconds,
            on_wait=on_wait,
            on_violation=on_violation,
        )
        if settings.engine != "local":
            with contextlib.suppress(TranscribeError):  # the engine reports a bad provider
                provider = resolve_provider(settings)
                hook.set_limit(provider.provider_id, provider.rpm)
        return hook

    def stats(self) -> list[LimiterStats]:
        with self._lock:
            limiters = list(self.limiters.values())
        return [limiter.stats() for limiter in limiters]

    def drain_changes(self) -> list[LimitChange]:
        """Changes to this session's budgets since the last call, oldest first."""
        changes = []
        while self._changes:
            changes.append(self._changes.popleft())
        return changes

    def close(self) -> None:
        """Stop hearing of changes; the limiters stay in the registry for other sessions."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
