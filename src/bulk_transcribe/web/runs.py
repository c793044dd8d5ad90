"""Who runs sessions for the web app, behind one small seam the pages call.

Pages never run work themselves: they start a session, ask whether someone works on it, and
send commands through the store (which also reaches sessions the CLI runs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from bulk_transcribe.models import Session, SessionCommand, SessionStatus
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.web.formatting import parse_time
from bulk_transcribe.web.jobs import JobManager

# A running session publishes its metrics every second; one silent this long was left by a
# crash (or runs on a machine whose clock we cannot trust: it shows as not running).
SILENT_AFTER_SECONDS = 30


class Runs(Protocol):
    def start(self, session_id: str, settings: Settings) -> bool:
        """Run (or resume) a session in the background; False if someone already runs it."""
        ...

    def alive(self, session: Session) -> bool:
        """Whether someone (this server, the CLI, another server) works on the session now."""
        ...

    def retry_failed(self, session_id: str, settings: Settings) -> int:
        """Re-queue the failed items and run them; returns how many were re-queued."""
        ...


class ThreadRuns:
    """Sessions run on threads of this server (the job manager), seen by their heartbeat."""

    def __init__(self, store: Store, jobs: JobManager):
        self.store = store
        self.jobs = jobs

    def start(self, session_id: str, settings: Settings) -> bool:
        if self.alive(self.store.get_session(session_id)):
            return False
        return self.jobs.start(session_id, settings)

    def alive(self, session: Session, now: datetime | None = None) -> bool:
        if self.jobs.is_running(session.id):
            return True
        touched = parse_time(session.updated_at)
        recent = (
            touched is not None
            and ((now or datetime.now(UTC)) - touched).total_seconds() < SILENT_AFTER_SECONDS
        )
        return session.status is SessionStatus.RUNNING and recent

    def retry_failed(self, session_id: str, settings: Settings) -> int:
        if self.alive(self.store.get_session(session_id)):
            return 0
        return self.jobs.retry_failed(session_id, settings)


def stop(store: Store, session_id: str) -> None:
    store.send_command(session_id, SessionCommand.STOP)


def cancel(store: Store, session_id: str) -> None:
    store.send_command(session_id, SessionCommand.CANCEL)
