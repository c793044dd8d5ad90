"""Events: the session log, as views show it."""

from __future__ import annotations

from dataclasses import dataclass

from bulk_transcribe.redact import scrub_text
from bulk_transcribe.store.database import Database, utc_now


@dataclass(frozen=True)
class Event:
    id: int
    session_id: str
    item_id: int | None
    at: str
    kind: str
    message: str


class EventsTable(Database):
    """Appending to and reading a session's log."""

    def add_event(
        self, session_id: str, kind: str, message: str, item_id: int | None = None
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO events (session_id, item_id, at, kind, message) VALUES (?,?,?,?,?)",
                (session_id, item_id, utc_now(), kind, scrub_text(message)),
            )

    def events(self, session_id: str, after_id: int = 0, limit: int = 500) -> list[Event]:
        rows = self._query(
            "SELECT * FROM events WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?",
            (session_id, after_id, limit),
        )
        return [Event(**dict(r)) for r in rows]
