"""Who runs sessions for the web app, behind one small seam the pages call.

Pages never run work themselves: they start a session, ask whether someone works on it, and
send commands through the store (which also reaches sessions the CLI runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bulk_transcribe import service
from bulk_transcribe.models import Session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store


class Runs(Protocol):
    def start(
        self, session_id: str, settings: Settings, links: Mapping[str, str] | None = None
    ) -> bool:
        """Run (or resume) a session in the background; False if someone already runs it.
        `links`: the real links of its items stored scrubbed (links.py), when just created."""
        ...

    def alive(self, session: Session) -> bool:
        """Whether someone (a job started here, the CLI, another server) works on it now."""
        ...

    def retry_failed(
        self, session_id: str, settings: Settings, item_ids: list[int] | None = None
    ) -> int:
        """Re-queue the failed items (or these of them) and run them; returns how many."""
        ...


class DetachedRuns:
    """Sessions run in processes of their own (`bulk-transcribe resume`, started through the
    service layer): the server only reads the store and sends commands, so restarting it or
    closing the browser never stops a job, and rendering never competes with transcribing
    inside one process."""

    def __init__(self, store: Store):
        self.store = store
        # The real links of the sessions started here, per session and item key, so a resume
        # or a retry from this server still has them; never stored, never shared by form.
        self._links: dict[str, dict[str, str]] = {}

    def start(
        self, session_id: str, settings: Settings, links: Mapping[str, str] | None = None
    ) -> bool:
        if links:
            self._links.setdefault(session_id, {}).update(links)
        if service.liveness(self.store, session_id) is not None:
            return False
        service.launch_detached(
            self.store.path,
            session_id,
            concurrency=settings.concurrency,
            secrets=secret_environment(settings),
            links=self._links.get(session_id),
        )
        return True

    def alive(self, session: Session) -> bool:
        return service.is_alive(session.owner)

    def retry_failed(
        self, session_id: str, settings: Settings, item_ids: list[int] | None = None
    ) -> int:
        if service.liveness(self.store, session_id) is not None:
            return 0
        requeued = service.retry_failed(self.store, session_id, item_ids)
        if requeued:
            self.start(session_id, settings)
        return requeued


# Keys typed into the web app reach the job through its environment, never its command
# line or the store; the names are those Settings reads.
_SECRET_VARIABLES = {
    "openai_api_key": "BULK_TRANSCRIBE_OPENAI_API_KEY",
    "deapi_api_key": "BULK_TRANSCRIBE_DEAPI_API_KEY",
    "groq_api_key": "BULK_TRANSCRIBE_GROQ_API_KEY",
}


def secret_environment(settings: Settings) -> dict[str, str]:
    found = {}
    for name, variable in _SECRET_VARIABLES.items():
        value = getattr(settings, name)
        if value is not None:
            found[variable] = value.get_secret_value()
    return found


def stop(store: Store, session_id: str) -> bool:
    """Ask the session's job to finish what runs and start nothing new; False if none runs."""
    return service.request_stop(store, session_id) is not None


def cancel(store: Store, session_id: str) -> bool:
    """Ask the session's job to abort what runs now (it stays resumable)."""
    return service.request_cancel(store, session_id) is not None
