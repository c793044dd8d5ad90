"""The default executor: each unit of work on a daemon thread of this process."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from bulk_transcribe.engines import Engine
from bulk_transcribe.runner.work import Message, UnitReporter, WorkUnit, run_unit
from bulk_transcribe.settings import Settings
from bulk_transcribe.workscope import RequestSlots


class ThreadExecutor:
    """Runs units on threads sharing one engine (and so one model copy) per process.

    A thread per unit rather than a pool: the coordinator already limits how many run, and a
    daemon thread stuck in a C call can be abandoned — a pool's threads are joined when the
    interpreter exits, so one hung worker would keep the process alive.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Callable[[], Engine],
        slots: RequestSlots | None = None,
    ):
        self._settings = settings
        self._engine = engine
        self._slots = slots  # requests in flight across units: the live concurrency
        self._messages: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._cancels: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def submit(self, unit: WorkUnit) -> None:
        cancel = threading.Event()
        with self._lock:
            self._cancels[unit.item.id] = cancel
        reporter = UnitReporter(unit, self._messages.put, cancel)
        worker = threading.Thread(
            target=self._work, args=(unit, reporter), name=f"item-{unit.item.id}", daemon=True
        )
        worker.start()

    def _work(self, unit: WorkUnit, reporter: UnitReporter) -> None:
        outcome = run_unit(unit, self._settings, self._engine, reporter, slots=self._slots)
        with self._lock:
            if self._cancels.get(unit.item.id) is reporter.cancel:
                del self._cancels[unit.item.id]
        self._messages.put(outcome)

    def cancel(self, item_id: int) -> None:
        with self._lock:
            cancel = self._cancels.get(item_id)
        if cancel is not None:
            cancel.set()

    def poll(self, timeout: float) -> list[Message]:
        try:
            messages = [self._messages.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                messages.append(self._messages.get_nowait())
            except queue.Empty:
                return messages

    def close(self) -> None:
        with self._lock:
            cancels = list(self._cancels.values())
            self._cancels.clear()
        for cancel in cancels:
            cancel.set()
