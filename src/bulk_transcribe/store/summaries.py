"""Summaries kept in the store, one per transcribed item, apart from its transcript."""

from __future__ import annotations

import json

from bulk_transcribe.models import ItemStatus, Summary
from bulk_transcribe.store import Store, utc_now


class Summaries:
    """The summaries table of one store; writes go through the store's transactions."""

    def __init__(self, store: Store):
        self._store = store

    def save(self, item_id: int, summary: Summary) -> None:
        with self._store._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO summaries (item_id, summary_json, model, made_at)"
                " VALUES (?, ?, ?, ?)",
                (item_id, json.dumps(summary.to_dict(), ensure_ascii=False), summary.model,
                 utc_now()),
            )  # fmt: skip

    def get(self, item_id: int) -> Summary | None:
        rows = self._store._query(
            "SELECT summary_json FROM summaries WHERE item_id = ?", (item_id,)
        )
        return Summary.from_dict(json.loads(rows[0]["summary_json"])) if rows else None

    def missing(self, session_id: str) -> list[int]:
        """Done items of the session with a transcript in the store and no summary."""
        rows = self._store._query(
            "SELECT i.id FROM items i JOIN transcripts t ON t.item_id = i.id"
            " LEFT JOIN summaries s ON s.item_id = i.id"
            " WHERE i.session_id = ? AND i.status = ? AND s.item_id IS NULL ORDER BY i.position",
            (session_id, ItemStatus.DONE),
        )
        return [row["id"] for row in rows]
