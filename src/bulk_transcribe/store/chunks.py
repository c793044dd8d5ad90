"""Pieces of long items already transcribed by a provider, kept until the item is done."""

from __future__ import annotations

from bulk_transcribe.store.database import Database, utc_now


class ChunksTable(Database):
    """A paid-for piece is never paid for again: retries and resumes read them back."""

    def save_chunk_result(self, item_id: int, chunk_key: str, result_json: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO chunk_results (item_id, chunk_key, result_json, saved_at)"
                " VALUES (?, ?, ?, ?)",
                (item_id, chunk_key, result_json, utc_now()),
            )

    def chunk_results(self, item_id: int) -> dict[str, str]:
        """The item's transcribed pieces, by the key the engine gave them."""
        rows = self._query(
            "SELECT chunk_key, result_json FROM chunk_results WHERE item_id = ?", (item_id,)
        )
        return {row["chunk_key"]: row["result_json"] for row in rows}

    def forget_chunk_results(self, item_id: int) -> None:
        """The item is done: its whole transcript is stored, the pieces are not needed."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM chunk_results WHERE item_id = ?", (item_id,))
