"""The archive: what earlier sessions already transcribed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bulk_transcribe.models import (
    ItemStatus,
)
from bulk_transcribe.store.items import QUERY_CHUNK, ItemsTable

ALREADY_DONE = "already_done"  # why an archived item was skipped


@dataclass(frozen=True)
class ArchivedItem:
    session_id: str
    finished_at: str | None
    outputs: list[str]  # absolute paths of the earlier transcripts


class ArchiveTable(ItemsTable):
    """Finding and linking work done in other sessions."""

    def transcribed(self, sources: Iterable[str]) -> set[str]:
        """Which of `sources` some session has transcribed (for marking search results)."""
        wanted = list(dict.fromkeys(sources))
        found: set[str] = set()
        for start in range(0, len(wanted), QUERY_CHUNK):
            chunk = wanted[start : start + QUERY_CHUNK]
            rows = self._query(
                "SELECT DISTINCT source FROM items WHERE status = ?"
                f" AND source IN ({','.join('?' * len(chunk))})",
                (ItemStatus.DONE, *chunk),
            )
            found.update(row["source"] for row in rows)
        return found

    def done_elsewhere(self, session_id: str, sources: Iterable[str]) -> dict[str, ArchivedItem]:
        """For each item of the session with one of `sources` finished in another session,
        its most recent success, by the item's key.

        A local file counts only if its fingerprint matches: a different file now at the same
        path is new work. A link stored scrubbed counts only if its key matches: the same
        scrubbed link with another credential is another item.
        """
        wanted = list(dict.fromkeys(sources))
        found: dict[str, ArchivedItem] = {}
        for start in range(0, len(wanted), QUERY_CHUNK):
            chunk = wanted[start : start + QUERY_CHUNK]
            rows = self._query(
                # CROSS JOIN keeps SQLite from reading every item of this session per page:
                # earlier items by source first, then this session's by (source, session).
                "SELECT mine.key, i.session_id, i.outputs_json, i.finished_at, s.out_dir"
                " FROM items i CROSS JOIN items mine ON mine.source = i.source"
                " AND mine.session_id = ? AND mine.key = i.key"
                " JOIN sessions s ON s.id = i.session_id"
                " WHERE i.status = ? AND i.session_id != ? AND i.fingerprint IS mine.fingerprint"
                f" AND i.source IN ({','.join('?' * len(chunk))}) ORDER BY i.finished_at",
                (session_id, ItemStatus.DONE, session_id, *chunk),
            )
            for row in rows:  # ordered oldest first, so the latest success wins
                folder = Path(row["out_dir"]) / "sessions" / row["session_id"]
                found[row["key"]] = ArchivedItem(
                    session_id=row["session_id"],
                    finished_at=row["finished_at"],
                    outputs=[str(folder / p) for p in json.loads(row["outputs_json"])],
                )
        return found

    def skip_as_archived(self, item_id: int, archived: ArchivedItem) -> None:
        """Finish a queued item as skipped, linking the earlier session's outputs."""
        link = {
            "archived_session_id": archived.session_id,
            "archived_outputs": archived.outputs,
        }
        self.update_item_info(item_id, metadata=link)
        self.finish_item(
            item_id,
            ItemStatus.SKIPPED,
            error_kind=ALREADY_DONE,
            error_message=f"already transcribed in session {archived.session_id}"
            " (use --force to transcribe again)",
        )
