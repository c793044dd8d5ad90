"""Who runs a session right now: answered without loading the runner's coordinator, engines
or outputs, so `status` of a running session starts in a fraction of the time."""

from __future__ import annotations

from bulk_transcribe.models import Owner
from bulk_transcribe.runner.ownership import is_alive
from bulk_transcribe.store import Store

__all__ = ["is_alive", "liveness"]


def liveness(store: Store, session_id: str) -> Owner | None:
    """The process running the session right now, or None when nobody does."""
    owner = store.get_session(session_id).owner
    return owner if is_alive(owner) else None
