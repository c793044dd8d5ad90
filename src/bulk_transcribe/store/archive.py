"""The archive: what earlier sessions already transcribed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulk_transcribe.models import (
    ItemStatus,
    Owner,
)
from bulk_transcribe.redact import scrub_text
from bulk_transcribe.store.items import QUERY_CHUNK, ItemsTable
from bulk_transcribe.store.rows import owner_from_row

ALREADY_DONE = "already_done"  # why an archived item was skipped


@dataclass(frozen=True)
class ArchivedItem:
    session_id: str
    finished_at: str | None
    outputs: list[str]  # absolute paths of the earlier transcripts


@dataclass(frozen=True)
class ArchivedEpisode:
    """A feed's episode some session transcribed, as stored (title and date to compare)."""

    guid: str
    title: str | None
    published: str | None  # ISO 8601, from the feed
    archived: ArchivedItem


# Another session's item that is the same work: the same source and key, and for a local
# file the same content (fingerprint).
_SAME_ITEM = (
    "i.source = mine.source AND i.key = mine.key AND i.fingerprint IS mine.fingerprint"
    " AND i.session_id != mine.session_id"
)

_RUNNING_ELSEWHERE = (
    f"SELECT i.session_id, s.* FROM items mine JOIN items i ON {_SAME_ITEM}"
    " JOIN sessions s ON s.id = i.session_id WHERE mine.id = ? AND i.status = ?"
    " AND s.owner_id IS NOT NULL AND s.heartbeat_at >= ?"
)


def _live_one(rows: Iterable[Any], is_gone: Callable[[Owner], bool] | None) -> str | None:
    """The first session among `rows` whose owner is not known to be gone: a process killed
    a moment ago on this machine (its heartbeat still fresh) transcribes nothing."""
    for row in rows:
        owner = owner_from_row(row)
        if is_gone is None or owner is None or not is_gone(owner):
            return row["session_id"]
    return None


def _in_chunks(values: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """`values` once each, a chunk at a time under SQLite's parameter limit, with the
    placeholders of an `IN (...)` for the chunk."""
    wanted = list(dict.fromkeys(values))
    for start in range(0, len(wanted), QUERY_CHUNK):
        chunk = wanted[start : start + QUERY_CHUNK]
        yield chunk, ",".join("?" * len(chunk))


class RunningElsewhere(Exception):
    """Another live session is transcribing the same item now."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id} is transcribing it now")
        self.session_id = session_id


class ArchiveTable(ItemsTable):
    """Finding and linking work done in other sessions."""

    def transcribed(self, sources: Iterable[str]) -> set[str]:
        """Which of `sources` some session has transcribed (for marking search results)."""
        found: set[str] = set()
        for chunk, marks in _in_chunks(sources):
            rows = self._query(
                f"SELECT DISTINCT source FROM items WHERE status = ? AND source IN ({marks})",
                (ItemStatus.DONE, *chunk),
            )
            found.update(row["source"] for row in rows)
        return found

    def done_episodes(
        self, feed_url: str, guids: Iterable[str], besides: str | None = None
    ) -> list[ArchivedEpisode]:
        """The successes, oldest first, of a feed's episodes with one of `guids`
        (sources/podcast.episode_identity) in sessions other than `besides`, whatever link
        their audio had then. Compared as stored, scrubbed of credentials."""
        by_stored = {scrub_text(guid): guid for guid in guids}
        found: list[ArchivedEpisode] = []
        for chunk, marks in _in_chunks(by_stored):
            rows = self._query(
                "SELECT json_extract(i.metadata_json, '$.guid') AS guid, i.title,"
                " json_extract(i.metadata_json, '$.published') AS published, i.session_id,"
                " i.outputs_json, i.finished_at, s.out_dir"
                " FROM items i JOIN sessions s ON s.id = i.session_id"
                " WHERE i.status = ? AND i.session_id IS NOT ?"
                " AND json_extract(i.metadata_json, '$.feed_url') = ?"
                f" AND json_extract(i.metadata_json, '$.guid') IN ({marks})",
                (ItemStatus.DONE, besides, scrub_text(feed_url), *chunk),
            )
            found += [
                ArchivedEpisode(by_stored[r["guid"]], r["title"], r["published"], _archived(r))
                for r in rows
            ]
        return sorted(found, key=lambda episode: episode.archived.finished_at or "")

    def done_elsewhere(self, session_id: str, sources: Iterable[str]) -> dict[str, ArchivedItem]:
        """For each item of the session with one of `sources` finished in another session,
        its most recent success, by the item's key.

        A local file counts only if its fingerprint matches: a different file now at the same
        path is new work. A link stored scrubbed counts only if its key matches: the same
        scrubbed link with another credential is another item.
        """
        found: dict[str, ArchivedItem] = {}
        for chunk, marks in _in_chunks(sources):
            rows = self._query(
                # CROSS JOIN keeps SQLite from reading every item of this session per page:
                # earlier items by source first, then this session's by (source, session).
                "SELECT mine.key, i.session_id, i.outputs_json, i.finished_at, s.out_dir"
                " FROM items i CROSS JOIN items mine ON mine.source = i.source"
                " AND mine.session_id = ? AND mine.key = i.key"
                " JOIN sessions s ON s.id = i.session_id"
                " WHERE i.status = ? AND i.session_id != ? AND i.fingerprint IS mine.fingerprint"
                f" AND i.source IN ({marks}) ORDER BY i.finished_at",
                (session_id, ItemStatus.DONE, session_id, *chunk),
            )
            for row in rows:  # ordered oldest first, so the latest success wins
                found[row["key"]] = _archived(row)
            moved = self._moved_files_done(session_id, chunk)
            found.update({key: moved[key] for key in moved.keys() - found.keys()})
        return found

    def _moved_files_done(self, session_id: str, sources: list[str]) -> dict[str, ArchivedItem]:
        """Local files among `sources` that an earlier session transcribed at another path:
        the same content (size, modification time and edge hash), moved into another folder
        or read from a drive mounted elsewhere, is not new work."""
        mine = self._query(
            "SELECT key, fingerprint FROM items WHERE session_id = ? AND fingerprint IS NOT NULL"
            f" AND source IN ({','.join('?' * len(sources))})",
            (session_id, *sources),
        )
        keys = {row["fingerprint"]: row["key"] for row in mine}
        if not keys:
            return {}
        rows = self._query(
            "SELECT i.fingerprint, i.session_id, i.outputs_json, i.finished_at, s.out_dir"
            " FROM items i JOIN sessions s ON s.id = i.session_id"
            " WHERE i.status = ? AND i.session_id != ?"
            f" AND i.fingerprint IN ({','.join('?' * len(keys))}) ORDER BY i.finished_at",
            (ItemStatus.DONE, session_id, *keys),
        )
        return {keys[row["fingerprint"]]: _archived(row) for row in rows}  # latest wins

    def archived_copy(self, item_id: int) -> ArchivedItem | None:
        """The latest success of the same item (source, key and fingerprint, as for
        `done_elsewhere`) in another session: one finished while this session ran."""
        rows = self._query(
            "SELECT i.session_id, i.outputs_json, i.finished_at, s.out_dir"
            f" FROM items mine JOIN items i ON {_SAME_ITEM}"
            " JOIN sessions s ON s.id = i.session_id"
            " WHERE mine.id = ? AND i.status = ? ORDER BY i.finished_at DESC LIMIT 1",
            (item_id, ItemStatus.DONE),
        )
        return _archived(rows[0]) if rows else None

    def running_elsewhere(
        self, item_id: int, live_since: float, is_gone: Callable[[Owner], bool] | None = None
    ) -> str | None:
        """The session, alive at `live_since` (a heartbeat time) and not known by `is_gone`
        to be gone, running the same item now."""
        rows = self._query(_RUNNING_ELSEWHERE, (item_id, ItemStatus.RUNNING, live_since))
        return _live_one(rows, is_gone)

    def start_unless_running_elsewhere(
        self, item_id: int, live_since: float, is_gone: Callable[[Owner], bool] | None = None
    ) -> int | None:
        """`start_item`, unless a session whose owner was alive at `live_since` (a heartbeat
        time) is running the same item: then RunningElsewhere names it. The look and the
        start share one IMMEDIATE transaction, so of two sessions starting the same item at
        the same moment, one runs it and the other waits for it (never both)."""
        with self._transaction() as conn:
            rows = conn.execute(
                _RUNNING_ELSEWHERE, (item_id, ItemStatus.RUNNING, live_since)
            ).fetchall()
            busy = _live_one(rows, is_gone)
            if busy is not None:
                raise RunningElsewhere(busy)
            return self._start_in(conn, item_id)

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


def _archived(row: Any) -> ArchivedItem:
    folder = Path(row["out_dir"]) / "sessions" / row["session_id"]
    return ArchivedItem(
        session_id=row["session_id"],
        finished_at=row["finished_at"],
        outputs=[str(folder / p) for p in json.loads(row["outputs_json"])],
    )
