"""The seam between the coordinator and whatever runs the work: threads here, Ray elsewhere."""

from __future__ import annotations

from typing import Protocol

from bulk_transcribe.runner.work import Message, WorkUnit


class Executor(Protocol):
    """Runs units of work and streams their progress and outcomes back.

    The coordinator decides what runs and when; an executor only runs what it is given. No
    method may block on a worker: a hung worker must never hold up the coordinator.
    """

    def submit(self, unit: WorkUnit) -> None:
        """Start working on `unit` now."""
        ...

    def cancel(self, item_id: int) -> None:
        """Ask the worker on `item_id` to stop (best effort); returns at once."""
        ...

    def poll(self, timeout: float) -> list[Message]:
        """Every message since the last poll, waiting up to `timeout` s for the first one."""
        ...

    def close(self) -> None:
        """Cancel whatever still runs and let go of resources, without waiting for workers."""
        ...
