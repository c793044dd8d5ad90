"""The runner: works through a session's queue, sequentially or on a thread pool."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import httpx

from bulk_transcribe import workscope
from bulk_transcribe.engines import Engine, create_engine
from bulk_transcribe.errors import ErrorKind
from bulk_transcribe.models import (
    Item,
    ItemStatus,
    SessionCommand,
    SessionCounts,
    SessionStatus,
    Stage,
)
from bulk_transcribe.runner.adaptive import ConcurrencyChange, ConcurrencyController
from bulk_transcribe.runner.index import write_outputs_index
from bulk_transcribe.runner.metrics import RunMetrics
from bulk_transcribe.runner.pipeline import ItemPipeline, Lease
from bulk_transcribe.runner.ratelimit import LimitChange, RateLimitHook
from bulk_transcribe.runner.resources import ResourceMonitor
from bulk_transcribe.settings import MAX_CONCURRENCY, Settings
from bulk_transcribe.store import Store

log = logging.getLogger(__name__)

COMMAND_POLL_SECONDS = 0.25
MONITOR_SECONDS = 1.0  # metrics, resources, adapting and timeouts
# Threads of timed-out items that never return keep their pool slot; leave room for them.
SPARE_WORKERS = MAX_CONCURRENCY


def longest_first(items: list[Item]) -> list[Item]:
    """The order of a parallel run: long items must not start last and finish alone."""
    return sorted(items, key=lambda i: (i.duration is None, -(i.duration or 0), i.position))


class Runner:
    """Runs one session to its end, a stop, or a cancel; running it again resumes it."""

    def __init__(
        self,
        store: Store,
        session_id: str,
        settings: Settings,
        engine: Engine | None = None,
    ):
        self.store = store
        self.session = store.get_session(session_id)
        self.settings = settings
        self._engine = engine
        self._engine_lock = threading.Lock()
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._finished = threading.Event()
        self._leases: dict[int, Lease] = {}
        self._leases_lock = threading.Lock()
        self.pipeline = ItemPipeline(
            store, self.session, settings, self._engine_instance, self._cancel
        )
        self.controller = ConcurrencyController(
            settings.concurrency, quiet_seconds=settings.quiet_seconds
        )
        # The provider's budget is shared with every session and process on the machine.
        self.rate_limits = RateLimitHook.for_settings(
            settings,
            on_wait=self._on_rate_limit_wait,
            on_violation=self._on_rate_limit_violation,
            on_change=self._on_rate_limit_change,
        )
        self.resources = ResourceMonitor(
            settings.out_dir, settings.memory_budget_mb, settings.min_free_disk_mb
        )
        self.metrics = RunMetrics(store, session_id)

    # --- commands (from this process; other processes use the store) ---------------------

    def request_stop(self) -> None:
        """Finish the items already running, start nothing new."""
        self._stop.set()

    def request_cancel(self) -> None:
        """Abort running items now; they go back to the queue for a later resume."""
        self._stop.set()
        self._cancel.set()
        with self._leases_lock:
            for lease in self._leases.values():
                lease.cancel.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def warm_up(self) -> Engine:
        """Create the engine (load the model, import the SDK) before the clock starts."""
        engine = self._engine_instance()
        warm = getattr(engine, "warm_up", None)
        if warm is not None:
            warm()
        self.resources.mark_baseline()  # memory pressure is growth from here on
        return engine

    # --- running --------------------------------------------------------------------------

    def run(self) -> SessionCounts:
        session_id = self.session.id
        self._prepare()
        if self.resources.baseline_mb is None:
            self.resources.mark_baseline()
        monitor = threading.Thread(target=self._monitor, name="monitor", daemon=True)
        monitor.start()
        try:
            queued = self.store.items(session_id, [ItemStatus.QUEUED])
            parallel = self.settings.concurrency > 1
            queued = longest_first(queued) if parallel else queued
            if self.settings.concurrency <= 1:
                self._run_sequential(queued)
            else:
                self._run_parallel(queued)
        finally:
            self._finished.set()
            monitor.join()
            self._close()
        return self.store.counts(session_id)

    def _prepare(self) -> None:
        session_id = self.session.id
        recovered = self.store.requeue_interrupted(session_id)
        if recovered:
            self.store.add_event(
                session_id, "resume", f"{recovered} interrupted item(s) put back in the queue"
            )
        # Temporary files of atomic writes cut short by a crash: never an output.
        for stale in self.session.folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        self.store.send_command(session_id, None)
        self.store.request_concurrency(session_id, None)
        self.store.set_session_status(session_id, SessionStatus.RUNNING)

    def _run_sequential(self, items: list[Item]) -> None:
        """The plain path: one item at a time, in list order."""
        for index, item in enumerate(items):
            if self._stop.is_set():
                return
            if self.controller.limit > 1:  # the user turned parallel processing on mid-run
                self._run_parallel(items[index:])
                return
            lease = self._lease(item)
            worker = threading.Thread(target=self._process_leased, args=(lease,), daemon=True)
            worker.start()
            while worker.is_alive() and not lease.lost:
                worker.join(COMMAND_POLL_SECONDS)

    def _run_parallel(self, items: list[Item]) -> None:
        pending = list(reversed(items))  # pop() from the end keeps the order
        in_flight: dict[Future[None], Lease] = {}
        pool = ThreadPoolExecutor(
            max_workers=self.settings.concurrency + SPARE_WORKERS, thread_name_prefix="item"
        )
        try:
            while pending or in_flight:
                active = [f for f, lease in in_flight.items() if not lease.lost]
                while pending and not self._stop.is_set() and len(active) < self.controller.limit:
                    lease = self._lease(pending.pop())
                    future = pool.submit(self._process_leased, lease)
                    in_flight[future] = lease
                    active.append(future)
                if not active and (self._stop.is_set() or not pending):
                    break
                done, _ = wait(active, timeout=COMMAND_POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    del in_flight[future]
                    future.result()  # _process handles its own errors; this surfaces bugs
                for future in [f for f, lease in in_flight.items() if lease.lost]:
                    del in_flight[future]  # its thread may linger; its slot is free again
        finally:
            # Never wait for threads of timed-out items: they may never return.
            pool.shutdown(wait=False, cancel_futures=True)

    def _lease(self, item: Item) -> Lease:
        timeout = (
            self.settings.item_timeout_seconds
            + self.settings.item_timeout_per_audio_second * (item.duration or 0)
        )
        lease = Lease(item=item, deadline=time.monotonic() + timeout)
        with self._leases_lock:
            self._leases[item.id] = lease
            if self._cancel.is_set():
                lease.cancel.set()
        return lease

    # --- the monitor thread ---------------------------------------------------------------

    def _monitor(self) -> None:
        """Commands from other views, the user's concurrency, resources, timeouts, metrics."""
        last_tick = 0.0
        while not self._finished.wait(COMMAND_POLL_SECONDS):
            try:
                self._poll_commands()
                if time.monotonic() - last_tick >= MONITOR_SECONDS:
                    last_tick = time.monotonic()
                    self._tick()
            except Exception:  # the monitor must outlive any one bad reading
                log.exception("monitor tick failed")

    def _poll_commands(self) -> None:
        command = self.store.read_command(self.session.id)
        if command is SessionCommand.CANCEL:
            self.request_cancel()
        elif command is SessionCommand.STOP:
            self.request_stop()
        requested = self.store.requested_concurrency(self.session.id)
        if requested is not None:
            self._record_change(self.controller.set_ceiling(requested))

    def _tick(self) -> None:
        reading = self.resources.read()
        pressure = self.resources.pressure(reading)
        if pressure and self.controller.limit > 1:
            self._record_change(self.controller.on_pressure(pressure))
        self._record_change(self.controller.tick())
        self._expire_overdue()
        self.metrics.publish(self.controller, self.rate_limits.stats(), reading)

    def _expire_overdue(self) -> None:
        now = time.monotonic()
        with self._leases_lock:
            overdue = [lease for lease in self._leases.values() if now > lease.deadline]
        for lease in overdue:
            self._give_up(lease)

    def _give_up(self, lease: Lease) -> None:
        """An item ran past its time limit: fail it and free its slot, whatever its thread does."""
        with self._leases_lock:
            if lease.lost or self._leases.get(lease.item.id) is not lease:
                return
            lease.lost = True
            lease.cancel.set()
            del self._leases[lease.item.id]
        self.pipeline.fail(
            lease.item,
            ErrorKind.TIMEOUT,
            "took longer than its time limit (which grows with the audio's length); "
            "retry it with `resume --retry-failed`",
        )

    def _record_change(self, change: ConcurrencyChange | None) -> None:
        if change is not None:
            self.store.add_event(
                self.session.id,
                "concurrency",
                f"concurrency {change.before} → {change.after}: {change.reason}",
            )

    def _on_rate_limit_violation(
        self, provider: str, response: httpx.Response, sent_at: float
    ) -> None:
        # The limiter records the 429 itself (see _on_rate_limit_change); here only the
        # concurrency reacts, and not to requests already in flight at its last decrease.
        reason = f"{provider} answered 429"
        self._record_change(self.controller.on_violation(reason, sent_at=sent_at))

    def _on_rate_limit_change(self, change: LimitChange) -> None:
        self.store.add_event(self.session.id, "rate_limit", change.reason)

    def _on_rate_limit_wait(self, waiting: bool) -> None:
        lease = self.pipeline.current_lease()
        if lease is not None and not lease.lost:
            stage = Stage.WAITING_RATE_LIMIT if waiting else Stage.TRANSCRIBING
            self.store.set_stage(lease.item.id, stage)

    def _engine_instance(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = create_engine(self.settings, self.rate_limits)
            return self._engine

    def _process_leased(self, lease: Lease) -> None:
        try:
            # Waits deep in the engine (limiter, Retry-After, back-offs) end on this cancel;
            # uploads in flight are bounded by the live concurrency.
            with workscope.scope(lease.cancel, self.controller.slots):
                self.pipeline.process(lease)
        finally:
            with self._leases_lock:
                if self._leases.get(lease.item.id) is lease:
                    del self._leases[lease.item.id]

    # --- closing --------------------------------------------------------------------------

    def _close(self) -> None:
        session_id = self.session.id
        self.store.requeue_interrupted(session_id)  # anything a worker left running
        counts = self.store.counts(session_id)
        if self._cancel.is_set():
            status = SessionStatus.CANCELLED
        elif counts.queued or counts.running:
            status = SessionStatus.STOPPED
        else:
            status = SessionStatus.COMPLETED
        self.store.set_session_status(session_id, status)
        self.store.send_command(session_id, None)
        self.metrics.publish(
            self.controller, self.rate_limits.stats(), self.resources.read(), final=True
        )
        self.rate_limits.close()
        write_outputs_index(self.store, session_id)
