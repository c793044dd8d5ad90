"""One read of a session for every open tab: re-reads only the items that changed.

Reading 5,000 items takes a fifth of a second; reading those that changed since the last look
(an index range: store.items_changed_since) takes a few milliseconds at any size. Tabs
watching the same session share one copy, refreshed at most every `MIN_REFRESH_SECONDS`, so
three tabs cost about what one does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from bulk_transcribe.models import Item, ItemStatus, Session, SessionCounts
from bulk_transcribe.store import Store

MIN_REFRESH_SECONDS = 0.5


@dataclass(frozen=True)
class SessionView:
    """Everything a monitor draws, read at one moment. Items are shared: never modify them."""

    session: Session
    items: list[Item]  # in queue order
    counts: SessionCounts
    metrics: dict[str, Any]
    requested_concurrency: int | None
    read_at: float  # time.monotonic() of the read
    version: int  # grows whenever the items changed: a key for what views derive from them

    @property
    def running(self) -> list[Item]:
        return [item for item in self.items if item.status is ItemStatus.RUNNING]


@dataclass
class _Cached:
    items: dict[int, Item] = field(default_factory=dict)
    marker: tuple[int, ...] | None = None
    view: SessionView | None = None
    version: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Snapshots:
    """Process-wide cache of session views, keyed by session id."""

    def __init__(self, store: Store):
        self.store = store
        self._cached: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def view(
        self, session_id: str, max_age: float = MIN_REFRESH_SECONDS, *, exact: bool = False
    ) -> SessionView:
        """The session as stored now, its items as stored at most `max_age` seconds ago;
        KeyError if it is gone. The session row itself is one cheap read: always fresh, so
        a command just sent shows at once. `exact` reads the items now: for a view drawn
        once and then left still (a stopped or finished session), which must not show a copy
        from just before the end."""
        with self._lock:
            cached = self._cached.setdefault(session_id, _Cached())
        with cached.lock:
            stale = cached.view is None or time.monotonic() - cached.view.read_at >= max_age
            if exact or stale:
                cached.view = self._read(session_id, cached)
            view = cached.view
        return replace(
            view,
            session=self.store.get_session(session_id),
            metrics=self.store.metrics(session_id),
            requested_concurrency=self.store.requested_concurrency(session_id),
        )

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._cached.pop(session_id, None)

    def _read(self, session_id: str, cached: _Cached) -> SessionView:
        store = self.store
        now = time.monotonic()
        marker = store.items_marker(session_id)  # revisions only grow: equal means unchanged
        if cached.view is not None and marker == cached.marker:
            return replace(cached.view, read_at=now)
        changed: list[Item] = []
        if cached.marker is not None and marker[2] >= cached.marker[2]:
            _, seen_last_id, seen_revisions = cached.marker
            changed = store.items_changed_since(session_id, seen_revisions, seen_last_id)
            for item in changed:
                cached.items[item.id] = item
        if cached.marker is None or len(cached.items) != marker[0] or marker[2] < cached.marker[2]:
            # The first look, or items deleted since (only ever with their session): all.
            changed = store.items(session_id)
            cached.items = {item.id: item for item in changed}
        cached.marker = marker
        if not changed and cached.view is not None and len(cached.items) == len(cached.view.items):
            return replace(cached.view, read_at=now)
        items = sorted(cached.items.values(), key=lambda item: item.position)
        cached.version += 1
        return SessionView(
            session=store.get_session(session_id),
            items=items,
            counts=store.counts(session_id),  # the store's own rules, one grouped query
            metrics={},
            requested_concurrency=None,
            read_at=now,
            version=cached.version,
        )
