"""Who runs a session right now: answered without loading the runner's coordinator, engines
or outputs, so `status` of a running session starts in a fraction of the time."""

from __future__ import annotations

from bulk_transcribe.models import Item, ItemStatus, Owner
from bulk_transcribe.runner.ownership import is_alive
from bulk_transcribe.store import Store

__all__ = ["INTERRUPTED_ITEM", "is_alive", "item_status_text", "liveness"]

# An item the store still says runs, in a session no process runs any more (kill -9, a
# crash, a lost machine): the next resume puts it back in the queue first.
INTERRUPTED_ITEM = "interrupted — runs again on resume"


def liveness(store: Store, session_id: str) -> Owner | None:
    """The process running the session right now, or None when nobody does."""
    owner = store.get_session(session_id).owner
    return owner if is_alive(owner) else None


def item_status_text(item: Item, owner_alive: bool) -> str:
    """An item's status as a user should read it, in every view: "running" only while the
    session's process lives. The store keeps what it recorded; only the words change."""
    if item.status is ItemStatus.RUNNING and not owner_alive:
        return INTERRUPTED_ITEM
    return item.status_text
