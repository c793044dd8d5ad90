"""Items and their attempts: the queue, each state change guarded by the attempt it belongs to."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from bulk_transcribe.models import (
    Item,
    ItemSpec,
    ItemStatus,
    SessionCounts,
    Stage,
)
from bulk_transcribe.redact import clean_title, redact_url, scrub, scrub_text
from bulk_transcribe.store.database import Database, utc_now
from bulk_transcribe.store.rows import item_from_row


def item_key(source: str, length: int = 8) -> str:
    """Short id derived from a source without credentials, so file names are stable across
    resumes; a link with credentials gets its key from `ItemsTable.item_key` instead."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:length]


# 8 hex digits are 32 bits: among 100,000 sources two share one about once. The second of
# such a pair gets a key this long instead of being taken for a duplicate and dropped.
LONG_KEY_LENGTH = 16


def keyed_item_key(secret: bytes, source: str) -> str:
    """The key of a link that carries credentials: from the real link, so links that differ
    only in a secret parameter stay distinct items, keyed by this database's secret, so the
    stored key gives nothing away about the credential (a plain hash of a short token could
    be reversed by trying every value)."""
    return hmac.new(secret, source.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


# Appended to an UPDATE of one item: only while that attempt is the one running.
ATTEMPT_GUARD = " AND status = 'running' AND attempts = ?"

QUERY_CHUNK = 500  # below SQLite's limit on host parameters in one statement
_INSERT_ITEM = (
    "INSERT OR IGNORE INTO items (session_id, position, key, source, source_type, title,"
    " metadata_json, origin, status, stage, duration, fingerprint, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def guard_params(attempt: int | None) -> list[Any]:
    return [] if attempt is None else [attempt]


def scrubbed(message: str | None) -> str | None:
    return scrub_text(message) if message else message


class ItemsTable(Database):
    """Adding, reading and moving items through their states."""

    _link_secret: bytes | None = None

    def item_key(self, source: str) -> str:
        """The key an item for the real `source` has (or will have) in this database."""
        if redact_url(source) == source:
            return item_key(source)
        return keyed_item_key(self._secret_for_link_keys(), source)

    def _secret_for_link_keys(self) -> bytes:
        if self._link_secret is None:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO link_key_secret (id, secret) VALUES (1, ?)",
                    (secrets.token_bytes(32),),
                )
                row = conn.execute("SELECT secret FROM link_key_secret WHERE id = 1").fetchone()
            self._link_secret = bytes(row["secret"])
        return self._link_secret

    def add_items(
        self,
        session_id: str,
        specs: Iterable[ItemSpec],
        durations: dict[str, float] | None = None,
        fingerprints: dict[str, str] | None = None,
    ) -> int:
        """Add items in order; a source already in the session is ignored. Returns how many.

        Sources are stored without their credentials (the caller keeps the real ones, see
        links.py), but keyed by the real link: links that differ only in a credential stay
        distinct items. Titles and metadata are stored without control characters or secrets.
        """
        durations, fingerprints = durations or {}, fingerprints or {}
        now = utc_now()
        specs = list(specs)
        keys = [self.item_key(spec.source) for spec in specs]  # before the transaction
        with self._transaction() as conn:
            start = conn.execute(
                "SELECT COALESCE(MAX(position), 0) FROM items WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            rows = [
                (
                    session_id,
                    start + offset,
                    key,
                    redact_url(spec.source),
                    spec.source_type,
                    clean_title(spec.title),
                    json.dumps(scrub(spec.metadata), default=str),
                    scrub_text(spec.origin) if spec.origin else None,
                    ItemStatus.QUEUED,
                    Stage.QUEUED,
                    durations.get(spec.source),
                    fingerprints.get(spec.source),
                    now,
                )
                for offset, (spec, key) in enumerate(zip(specs, keys, strict=True), start=1)
            ]
            # rowcount: the rows inserted, not those the counters' triggers touched
            added = conn.executemany(_INSERT_ITEM, rows).rowcount
            if added < len(rows):  # duplicates, or sources whose short keys collided
                added += self._add_collided(conn, session_id, rows)
            return added

    @staticmethod
    def _add_collided(conn: sqlite3.Connection, session_id: str, rows: list[tuple]) -> int:
        """Rows ignored because another source of the session took their short key (not
        because they are already there): they go in with a long key. Links with credentials
        have keys of their own (`keyed_item_key`), long enough not to collide."""
        added = 0
        for row in rows:
            key, source = row[2], row[3]
            holder = conn.execute(
                "SELECT source FROM items WHERE session_id = ? AND key = ?", (session_id, key)
            ).fetchone()
            if holder is not None and holder[0] != source and redact_url(source) == source:
                long_key = item_key(source, LONG_KEY_LENGTH)
                added += conn.execute(_INSERT_ITEM, (*row[:2], long_key, *row[3:])).rowcount
        return added

    def items(self, session_id: str, statuses: Iterable[ItemStatus] | None = None) -> list[Item]:
        sql = "SELECT * FROM items WHERE session_id = ?"
        params: list[Any] = [session_id]
        if statuses is not None:
            wanted = list(statuses)
            sql += f" AND status IN ({','.join('?' * len(wanted))})"
            params += wanted
        return [item_from_row(r) for r in self._query(sql + " ORDER BY position", params)]

    def iter_items(self, session_id: str, page: int = 1000) -> Iterator[Item]:
        """Every item of the session in position order, read a page at a time."""
        after = -1
        while True:
            rows = self._query(
                "SELECT * FROM items WHERE session_id = ? AND position > ?"
                " ORDER BY position LIMIT ?",
                (session_id, after, page),
            )
            for row in rows:
                yield item_from_row(row)
            if len(rows) < page:
                return
            after = rows[-1]["position"]

    def first_items(self, session_id: str, status: ItemStatus, limit: int) -> list[Item]:
        """The first `limit` items of one status, in position order (an index range)."""
        rows = self._query(
            "SELECT * FROM items WHERE session_id = ? AND status = ? ORDER BY position LIMIT ?",
            (session_id, status, limit),
        )
        return [item_from_row(r) for r in rows]

    def queued_ids(self, session_id: str, *, longest_first: bool = False) -> list[int]:
        """The ids of the session's queued items, in position order, or longest first (those
        of unknown length last); ids only, so a runner need not hold every item."""
        order = "duration IS NULL, duration DESC, position" if longest_first else "position"
        rows = self._query(
            f"SELECT id FROM items WHERE session_id = ? AND status = ? ORDER BY {order}",
            (session_id, ItemStatus.QUEUED),
        )
        return [row[0] for row in rows]

    def items_by_id(self, item_ids: Iterable[int]) -> list[Item]:
        wanted = list(item_ids)
        found: list[Item] = []
        for start in range(0, len(wanted), QUERY_CHUNK):
            chunk = wanted[start : start + QUERY_CHUNK]
            rows = self._query(
                f"SELECT * FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found += [item_from_row(r) for r in rows]
        return found

    def get_item(self, item_id: int) -> Item:
        rows = self._query("SELECT * FROM items WHERE id = ?", (item_id,))
        if not rows:
            raise KeyError(item_id)
        return item_from_row(rows[0])

    def counts(self, session_id: str) -> SessionCounts:
        """From the counters the schema's triggers keep, plus the few running items: never a
        read of every item (a live view asks several times a second)."""
        counts = SessionCounts()
        rows = self._query(
            "SELECT status, items, seconds, unknown FROM item_counts WHERE session_id = ?",
            (session_id,),
        )
        for row in rows:
            setattr(counts, row["status"], row["items"])
            counts.total += row["items"]
            counts.audio_seconds_total += row["seconds"]
            if row["status"] in (ItemStatus.DONE, ItemStatus.FAILED, ItemStatus.SKIPPED):
                counts.audio_seconds_done += row["seconds"]
            if row["status"] == ItemStatus.DONE:
                counts.audio_seconds_transcribed += row["seconds"]
            if row["status"] in (ItemStatus.QUEUED, ItemStatus.RUNNING):
                counts.unknown_lengths_left += row["unknown"]
        running = self._query(
            "SELECT COALESCE(SUM(duration * progress), 0) AS seconds,"
            " COALESCE(SUM(progress), 0) AS progress FROM items"
            " WHERE session_id = ? AND status = ?",
            (session_id, ItemStatus.RUNNING),
        )
        counts.audio_seconds_done += running[0]["seconds"]
        counts.running_progress = running[0]["progress"]
        return counts

    def failed_by_kind(self, session_id: str) -> dict[str | None, int]:
        """How many items failed for each error kind (from the status index: a session of
        100,000 failed items is counted, not read)."""
        rows = self._query(
            "SELECT error_kind, COUNT(*) AS items FROM items"
            " WHERE session_id = ? AND status = ? GROUP BY error_kind",
            (session_id, ItemStatus.FAILED),
        )
        return {row["error_kind"]: row["items"] for row in rows}

    def start_item(self, item_id: int) -> int | None:
        """Mark a queued item running and open an attempt; returns the attempt number.

        None when the item is not queued (another process or a late message got there first).
        """
        with self._transaction() as conn:
            return self._start_in(conn, item_id)

    @staticmethod
    def _start_in(conn: sqlite3.Connection, item_id: int) -> int | None:
        now = utc_now()
        cursor = conn.execute(
            "UPDATE items SET status = ?, stage = ?, progress = 0, attempts = attempts + 1,"
            " error_kind = NULL, error_message = NULL, started_at = COALESCE(started_at, ?),"
            " updated_at = ?, revision = revision + 1 WHERE id = ? AND status = ?",
            (ItemStatus.RUNNING, Stage.FETCHING, now, now, item_id, ItemStatus.QUEUED),
        )
        if cursor.rowcount != 1:
            return None
        number = conn.execute("SELECT attempts FROM items WHERE id = ?", (item_id,)).fetchone()[0]
        conn.execute(
            "INSERT INTO attempts (item_id, number, started_at, status) VALUES (?, ?, ?, ?)",
            (item_id, number, now, ItemStatus.RUNNING),
        )
        return number

    def set_stage(
        self,
        item_id: int,
        stage: Stage,
        progress: float | None = None,
        *,
        attempt: int | None = None,
    ) -> bool:
        """Record where a running item is; with `attempt`, only if that attempt still runs."""
        sql = "UPDATE items SET stage = ?, updated_at = ?, revision = revision + 1"
        params: list[Any] = [stage, utc_now()]
        if progress is not None:
            sql += ", progress = ?"
            params.append(min(max(progress, 0.0), 1.0))
        sql += " WHERE id = ?" + ATTEMPT_GUARD * (attempt is not None)
        params += [item_id, *guard_params(attempt)]
        with self._transaction() as conn:
            return conn.execute(sql, params).rowcount == 1

    def update_item_info(
        self,
        item_id: int,
        *,
        title: str | None = None,
        duration: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Fill in what a source learned without erasing what is already known."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT title, duration, metadata_json FROM items WHERE id = ?", (item_id,)
            ).fetchone()
            merged = {**scrub(metadata or {}), **json.loads(row["metadata_json"])}
            conn.execute(
                "UPDATE items SET title = ?, duration = ?, metadata_json = ?, updated_at = ?,"
                " revision = revision + 1 WHERE id = ?",
                (
                    row["title"] or clean_title(title),
                    duration if duration is not None else row["duration"],
                    json.dumps(merged, default=str),
                    utc_now(),
                    item_id,
                ),
            )

    def finish_item(
        self,
        item_id: int,
        status: ItemStatus,
        *,
        outputs: Sequence[str] = (),
        method: str | None = None,
        language: str | None = None,
        error_kind: str | None = None,
        error_message: str | None = None,
        attempt: int | None = None,
    ) -> bool:
        """Finish an item. With `attempt`, only if that attempt is still the one running:
        a worker's late result and the time limit's give-up can never both win."""
        now = utc_now()
        stage = {ItemStatus.DONE: Stage.DONE, ItemStatus.SKIPPED: Stage.SKIPPED}.get(
            status, Stage.FAILED
        )
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE items SET status = ?, stage = ?, progress = CASE WHEN ? THEN 1 ELSE"
                " progress END, outputs_json = ?, method = COALESCE(?, method),"
                " language = COALESCE(?, language), error_kind = ?, error_message = ?,"
                " finished_at = ?, updated_at = ?, revision = revision + 1 WHERE id = ?"
                + ATTEMPT_GUARD
                * (attempt is not None),
                (
                    status,
                    stage,
                    status == ItemStatus.DONE,
                    json.dumps(list(outputs)),
                    method,
                    language,
                    error_kind,
                    scrubbed(error_message),
                    now,
                    now,
                    item_id,
                    *guard_params(attempt),
                ),
            )
            if cursor.rowcount != 1:
                return False
            self._close_attempt(conn, item_id, status, error_kind, scrubbed(error_message), now)
        return True

    def requeue_item(
        self,
        item_id: int,
        error_kind: str | None = None,
        error_message: str | None = None,
        *,
        attempt: int | None = None,
    ) -> bool:
        """Put a running item back in the queue (retry later, stop, or crash recovery).

        With `attempt`, only if that attempt is still the one running.
        """
        now = utc_now()
        error_message = scrubbed(error_message)
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE items SET status = ?, stage = ?, progress = 0, error_kind = ?,"
                " error_message = ?, updated_at = ?, revision = revision + 1"
                " WHERE id = ? AND status = ?" + ATTEMPT_GUARD * (attempt is not None),
                (
                    ItemStatus.QUEUED,
                    Stage.QUEUED,
                    error_kind,
                    error_message,
                    now,
                    item_id,
                    ItemStatus.RUNNING,
                    *guard_params(attempt),
                ),
            )
            if cursor.rowcount != 1:
                return False
            self._close_attempt(
                conn, item_id, ItemStatus.QUEUED, error_kind, error_message or "interrupted", now
            )
        return True

    def requeue_interrupted(self, session_id: str) -> int:
        """After a crash, items left 'running' go back to the queue. Returns how many."""
        ids = [
            r["id"]
            for r in self._query(
                "SELECT id FROM items WHERE session_id = ? AND status = ?",
                (session_id, ItemStatus.RUNNING),
            )
        ]
        for item_id in ids:
            self.requeue_item(item_id, None, None)
        return len(ids)

    def requeue_failed(
        self,
        session_id: str,
        kinds: Iterable[str] | None = None,
        item_ids: Iterable[int] | None = None,
    ) -> int:
        """Put failed items back in the queue; only those that failed for one of `kinds` when
        given (e.g. a full disk or the network, which the user may have fixed since), and only
        these items when `item_ids` is given."""
        sql = (
            "UPDATE items SET status = ?, stage = ?, progress = 0, error_kind = NULL,"
            " error_message = NULL, finished_at = NULL, updated_at = ?, revision = revision + 1"
            " WHERE session_id = ? AND status = ?"
        )
        params: list[Any] = [ItemStatus.QUEUED, Stage.QUEUED, utc_now(), session_id]
        params.append(ItemStatus.FAILED)
        if kinds is not None:
            wanted = [str(k) for k in kinds]
            sql += f" AND error_kind IN ({','.join('?' * len(wanted)) or 'NULL'})"
            params += wanted
        if item_ids is not None:
            ids = [int(i) for i in item_ids]
            sql += f" AND id IN ({','.join('?' * len(ids)) or 'NULL'})"
            params += ids
        with self._transaction() as conn:
            return conn.execute(sql, params).rowcount

    def set_provider_request_id(self, item_id: int, request_id: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE attempts SET provider_request_id = ? WHERE id = ("
                " SELECT MAX(id) FROM attempts WHERE item_id = ?)",
                (request_id, item_id),
            )

    def last_provider_request_id(self, item_id: int) -> str | None:
        rows = self._query(
            "SELECT provider_request_id FROM attempts WHERE item_id = ?"
            " AND provider_request_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            (item_id,),
        )
        return rows[0]["provider_request_id"] if rows else None

    @staticmethod
    def _close_attempt(
        conn: sqlite3.Connection,
        item_id: int,
        status: str,
        error_kind: str | None,
        error_message: str | None,
        now: str,
    ) -> None:
        conn.execute(
            "UPDATE attempts SET status = ?, error_kind = ?, error_message = ?, finished_at = ?"
            " WHERE item_id = ? AND finished_at IS NULL",
            (status, error_kind, error_message, now, item_id),
        )

    def attempts(self, item_id: int) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self._query("SELECT * FROM attempts WHERE item_id = ? ORDER BY id", (item_id,))
        ]
