"""The background job manager: runs sessions on threads that belong to no browser tab."""

from __future__ import annotations

import logging
import threading

from bulk_transcribe import service
from bulk_transcribe.models import SessionStatus
from bulk_transcribe.runner import SessionBusy
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store

log = logging.getLogger(__name__)


class JobManager:
    """One per process and database: starts a Runner per session and remembers its thread.

    Pages only start jobs here; they stop and cancel them through the store
    (`Store.send_command`), which also reaches sessions another process (the CLI) runs.
    """

    def __init__(self, store: Store):
        self.store = store
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, session_id: str, settings: Settings) -> bool:
        """Run (or resume) a session in the background; False if it already runs here."""
        with self._lock:
            finishing = self._threads.get(session_id)
        if finishing is not None:
            finishing.join(2.0)  # a run that just ended is letting go of its session
        with self._lock:
            if self._alive(session_id):
                return False
            thread = threading.Thread(
                target=self._run,
                args=(session_id, settings),
                name=f"session-{session_id}",
                daemon=True,  # a stopped server must not hang on a long transcription
            )
            self._threads[session_id] = thread
            thread.start()
        log.info("started session %s", session_id)
        return True

    def retry_failed(self, session_id: str, settings: Settings) -> int:
        """Re-queue only the failed items and run them; returns how many were re-queued."""
        if self.is_running(session_id):
            return 0
        requeued = service.retry_failed(self.store, session_id)
        if requeued:
            self.start(session_id, settings)
        return requeued

    def is_running(self, session_id: str) -> bool:
        with self._lock:
            return self._alive(session_id)

    def running_sessions(self) -> list[str]:
        with self._lock:
            return [sid for sid in self._threads if self._alive(sid)]

    def join(self, session_id: str, timeout: float | None = None) -> bool:
        """Wait for a session's job to end; True if it has."""
        with self._lock:
            thread = self._threads.get(session_id)
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _alive(self, session_id: str) -> bool:
        thread = self._threads.get(session_id)
        return thread is not None and thread.is_alive()

    def _run(self, session_id: str, settings: Settings) -> None:
        try:
            service.run_session(self.store, session_id, settings)
        except SessionBusy as busy:  # another process runs it: leave its status alone
            self.store.add_event(session_id, "busy", str(busy))
        except Exception as exc:  # no tab is there to catch it: record it where pages look
            log.exception("session %s stopped on an unexpected error", session_id)
            self.store.add_event(
                session_id,
                "error",
                f"the session stopped on an unexpected error ({exc!r}); resume it to continue",
            )
            self.store.set_session_status(session_id, SessionStatus.STOPPED)
