"""Reads that exist for the live views: cheap questions asked several times a second."""

from __future__ import annotations

from bulk_transcribe.models import (
    Item,
)
from bulk_transcribe.store.database import Database
from bulk_transcribe.store.rows import item_from_row


class MonitorReads(Database):
    """What changed since a view last looked."""

    def items_changed_since(self, session_id: str, revisions: int, last_id: int) -> list[Item]:
        """Items changed since the session's sum of revisions was `revisions`, and items added
        after id `last_id` (both as `items_marker` gave them): two index ranges, so a view
        that looked a moment ago reads the few items that changed, not all of them."""
        # `+session_id`: no index on it for the new items, or SQLite walks every item of the
        # session by that index instead of the ids after `last_id` (5 ms at 100,000 items).
        rows = self._query(
            "SELECT * FROM items WHERE session_id = ? AND changed > ?"
            " UNION SELECT * FROM items WHERE id > ? AND +session_id = ?",
            (session_id, revisions, last_id, session_id),
        )
        return [item_from_row(r) for r in rows]

    def items_marker(self, session_id: str) -> tuple[int, ...]:
        """A fingerprint of the session's items in one cheap query: every change of an item
        raises its revision, so an equal marker means nothing changed. (Timestamps were not
        enough: two changes within one clock tick looked like one.)"""
        row = self._query(
            "SELECT (SELECT TOTAL(items) FROM item_counts WHERE session_id = :s),"
            " last_id, revisions FROM item_totals WHERE session_id = :s",
            {"s": session_id},
        )
        return tuple(int(value or 0) for value in row[0]) if row else (0, 0, 0)

    def last_finished_at(self, session_id: str) -> str | None:
        """When the session's latest finished item finished (an index lookup)."""
        row = self._query("SELECT MAX(finished_at) FROM items WHERE session_id = ?", (session_id,))
        return row[0][0]

    def finished_since(self, session_id: str, since: str | None) -> list[Item]:
        """Items that finished at or after `since` (a finished_at value), oldest first.

        Lets a view report new results without reading the whole session each time.
        """
        rows = self._query(
            "SELECT * FROM items WHERE session_id = ? AND finished_at IS NOT NULL"
            " AND finished_at >= ? ORDER BY finished_at, position",
            (session_id, since or ""),
        )
        return [item_from_row(r) for r in rows]
