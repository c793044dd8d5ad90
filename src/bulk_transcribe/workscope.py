"""What code working on one item may ask of its surroundings, however deep it sits (an engine,
an HTTP hook, a retry loop): has the item been cancelled, and may it start another request.

The worker that runs an item sets both with `scope(...)`; code deep down reads them through
context variables, so no engine or hook needs a reference to the runner. Threads started
inside an item (chunk uploads) must run in `contextvars.copy_context()` to see them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Protocol

from bulk_transcribe.errors import Cancelled

# Waits are cut into steps no longer than this when there is no event to wait on.
POLL_SECONDS = 0.25


class RequestSlots(Protocol):
    """Requests the item's session may have in flight at once (chunk uploads included)."""

    def hold(
        self, cancel: threading.Event | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Block until a slot is free (raising Cancelled when `cancel` is set), hold it."""
        ...


current_cancel: ContextVar[threading.Event | None] = ContextVar("current_cancel", default=None)
current_slots: ContextVar[RequestSlots | None] = ContextVar("current_slots", default=None)


@contextlib.contextmanager
def scope(
    cancel: threading.Event | None = None, slots: RequestSlots | None = None
) -> Iterator[None]:
    """Run the body as one item's work: `cancel` aborts its waits, `slots` bound its requests."""
    cancel_token = current_cancel.set(cancel)
    slots_token = current_slots.set(slots)
    try:
        yield
    finally:
        current_slots.reset(slots_token)
        current_cancel.reset(cancel_token)


def cancel_event(cancel: threading.Event | None = None) -> threading.Event | None:
    """`cancel` if given, else the current item's."""
    return cancel if cancel is not None else current_cancel.get()


def raise_if_cancelled(cancel: threading.Event | None = None) -> None:
    event = cancel_event(cancel)
    if event is not None and event.is_set():
        raise Cancelled()


def sleep(seconds: float, cancel: threading.Event | None = None) -> None:
    """Sleep `seconds`, returning early with Cancelled the moment the item is cancelled."""
    event = cancel_event(cancel)
    if event is None:
        time.sleep(max(0.0, seconds))
        return
    if event.wait(max(0.0, seconds)):
        raise Cancelled()


class ResizableSlots:
    """A semaphore whose size follows `capacity()`: the concurrency controller's live limit.

    Written by hand because threading's semaphores have a fixed size; waiters re-read the
    capacity every POLL_SECONDS, so a lowered limit takes effect for the next request.
    """

    def __init__(self, capacity: Callable[[], int]):
        self._capacity = capacity
        self._held = 0
        self._condition = threading.Condition()

    @property
    def held(self) -> int:
        return self._held

    @contextlib.contextmanager
    def hold(self, cancel: threading.Event | None = None) -> Iterator[None]:
        event = cancel_event(cancel)
        with self._condition:
            while self._held >= max(1, self._capacity()):
                if event is not None and event.is_set():
                    raise Cancelled()
                self._condition.wait(POLL_SECONDS)
            self._held += 1
        try:
            yield
        finally:
            with self._condition:
                self._held -= 1
                self._condition.notify_all()
