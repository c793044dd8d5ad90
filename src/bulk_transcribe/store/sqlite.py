"""The Store: every state change of a session goes through here, and is durable on return."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bulk_transcribe.errors import ErrorKind, PermanentError, disk_full, is_disk_full
from bulk_transcribe.models import (
    Item,
    ItemSpec,
    ItemStatus,
    Owner,
    Segment,
    Session,
    SessionCommand,
    SessionCounts,
    SessionStatus,
    SourceType,
    Stage,
    Transcript,
)
from bulk_transcribe.redact import clean_title, remember, scrub, scrub_text
from bulk_transcribe.store.schema import MIGRATIONS, SCHEMA_VERSION


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session_id(now: datetime | None = None) -> str:
    """UTC timestamp plus a random part, so two sessions in the same second never collide.

    Four random bytes: with three, 500 sessions in one second collided once in ~130 tries."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"


def item_key(source: str) -> str:
    """Short id derived from the source, so file names are stable across resumes."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class Event:
    id: int
    session_id: str
    item_id: int | None
    at: str
    kind: str
    message: str


class Store:
    """Thread-safe access to one SQLite database (WAL), shared by runner threads and views."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PermanentError(
                ErrorKind.INVALID_INPUT,
                f"cannot create the folder {self.path.parent} ({exc.strerror or exc}): "
                "choose a folder you can write to with --out (or --db)",
            ) from exc
        with self._database_errors():
            # One connection guarded by a lock: SQLite serialises writers anyway, and this
            # keeps transactions from interleaving across worker threads.
            self._conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()

    @contextmanager
    def _database_errors(self) -> Iterator[None]:
        """SQLite's failures as errors that say what to do (full, read-only, damaged)."""
        try:
            yield
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # our own mistakes, not the database's state
        except sqlite3.DatabaseError as exc:
            raise database_error(self.path, exc) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._database_errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # SQLite may have rolled back itself (full)
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock, self._database_errors():
            return self._conn.execute(sql, params).fetchall()

    def _migrate(self) -> None:
        with self._transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise PermanentError(
                    ErrorKind.DATABASE,
                    f"{self.path} was written by a newer Bulk Transcribe (schema {version}); "
                    "upgrade bulk-transcribe to open it",
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # --- sessions -------------------------------------------------------------------------

    def create_session(
        self, out_dir: Path, settings: dict[str, Any], session_id: str | None = None
    ) -> Session:
        now = utc_now()
        session_id = session_id or new_session_id()
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO sessions (id, created_at, updated_at, status, out_dir, settings_json)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    now,
                    now,
                    SessionStatus.CREATED,
                    # Absolute, so a resume from another working directory finds the same folder.
                    str(Path(out_dir).resolve()),
                    json.dumps(scrub(settings)),
                ),
            )
        return self.get_session(session_id)

    def get_session(self, session_id: str) -> Session:
        rows = self._query("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise KeyError(session_id)
        return _session_from_row(rows[0])

    def find_session(self, prefix: str) -> Session | None:
        """A session by its id or an unambiguous prefix of it (or 'latest')."""
        if prefix == "latest":
            sessions = self.list_sessions(limit=1)
            return sessions[0] if sessions else None
        rows = self._query(
            "SELECT * FROM sessions WHERE id = ? OR id LIKE ? ORDER BY id",
            (prefix, prefix.replace("%", "").replace("_", r"\_") + "%"),
        )
        exact = [r for r in rows if r["id"] == prefix]
        if exact:
            return _session_from_row(exact[0])
        return _session_from_row(rows[0]) if len(rows) == 1 else None

    def list_sessions(self, limit: int | None = None) -> list[Session]:
        sql = "SELECT * FROM sessions ORDER BY created_at DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_session_from_row(r) for r in self._query(sql)]

    def set_session_status(self, session_id: str, status: SessionStatus) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?",
                (status, utc_now(), session_id),
            )

    def delete_session(self, session_id: str) -> None:
        """Forget a session: its items, attempts and events go with it (files stay on disk)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # --- ownership: at most one live process runs a session ------------------------------

    def claim_session(
        self, session_id: str, claimant: Owner, expiry: float, is_dead: Callable[[Owner], bool]
    ) -> Owner | None:
        """Make `claimant` the session's owner unless another live owner holds it.

        Returns None when claimed, else the owner in the way. A compare-and-set: the read and
        the write share one IMMEDIATE transaction, which SQLite serialises across processes.
        An owner whose heartbeat is older than `expiry` seconds, or that `is_dead` says is
        gone (e.g. its pid no longer exists on this host), is taken over.
        """
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT owner_id, owner_host, owner_pid, heartbeat_at FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
            if row is None:
                raise KeyError(session_id)
            current = _owner_from_row(row)
            if (
                current is not None
                and current.id != claimant.id
                and current.heartbeat_age(time.time()) < expiry
                and not is_dead(current)
            ):
                return current
            conn.execute(
                "UPDATE sessions SET owner_id = ?, owner_host = ?, owner_pid = ?,"
                " heartbeat_at = ? WHERE id = ?",
                (claimant.id, claimant.host, claimant.pid, time.time(), session_id),
            )
        return None

    def heartbeat(self, session_id: str, owner_id: str) -> bool:
        """Renew the owner's heartbeat; False if it is no longer the owner (taken over)."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET heartbeat_at = ? WHERE id = ? AND owner_id = ?",
                (time.time(), session_id, owner_id),
            )
            return cursor.rowcount == 1

    def release_session(
        self, session_id: str, owner_id: str, status: SessionStatus | None = None
    ) -> None:
        """Let go of the session, setting its final `status` in the same transaction: a view
        that sees it stopped may resume it at once, and finds no owner in the way."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE sessions SET owner_id = NULL, owner_host = NULL, owner_pid = NULL,"
                " heartbeat_at = NULL WHERE id = ? AND owner_id = ?",
                (session_id, owner_id),
            )
            if status is not None:
                conn.execute(
                    "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?",
                    (status, utc_now(), session_id),
                )

    def send_command(self, session_id: str, command: SessionCommand | None) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE sessions SET command = ?, updated_at = ? WHERE id = ?",
                (command, utc_now(), session_id),
            )

    def read_command(self, session_id: str) -> SessionCommand | None:
        rows = self._query("SELECT command FROM sessions WHERE id = ?", (session_id,))
        return SessionCommand(rows[0]["command"]) if rows and rows[0]["command"] else None

    def request_concurrency(self, session_id: str, concurrency: int | None) -> None:
        """Ask a running session to change how many items run at once (1 = sequential)."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE sessions SET requested_concurrency = ?, updated_at = ? WHERE id = ?",
                (concurrency, utc_now(), session_id),
            )

    def requested_concurrency(self, session_id: str) -> int | None:
        rows = self._query("SELECT requested_concurrency FROM sessions WHERE id = ?", (session_id,))
        return rows[0]["requested_concurrency"] if rows else None

    def update_metrics(self, session_id: str, metrics: dict[str, Any]) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE sessions SET metrics_json = ?, updated_at = ? WHERE id = ?",
                (json.dumps(metrics), utc_now(), session_id),
            )

    def metrics(self, session_id: str) -> dict[str, Any]:
        rows = self._query("SELECT metrics_json FROM sessions WHERE id = ?", (session_id,))
        return json.loads(rows[0]["metrics_json"]) if rows else {}

    # --- items ----------------------------------------------------------------------------

    def add_items(
        self,
        session_id: str,
        specs: Iterable[ItemSpec],
        durations: dict[str, float] | None = None,
        fingerprints: dict[str, str] | None = None,
    ) -> int:
        """Add items in order; a source already in the session is ignored. Returns how many.

        Sources are stored without their credentials (the real ones stay in this process's
        memory, see redact.py); titles and metadata without control characters or secrets.
        """
        durations, fingerprints = durations or {}, fingerprints or {}
        now = utc_now()
        with self._transaction() as conn:
            start = conn.execute(
                "SELECT COALESCE(MAX(position), 0) FROM items WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO items (session_id, position, key, source, source_type,"
                " title, metadata_json, origin, status, stage, duration, fingerprint, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        session_id,
                        start + offset,
                        item_key(stored),
                        stored,
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
                    for offset, (spec, stored) in enumerate(
                        ((spec, remember(spec.source)) for spec in specs), start=1
                    )
                ],
            )
            return conn.total_changes - before

    def items(self, session_id: str, statuses: Iterable[ItemStatus] | None = None) -> list[Item]:
        sql = "SELECT * FROM items WHERE session_id = ?"
        params: list[Any] = [session_id]
        if statuses is not None:
            wanted = list(statuses)
            sql += f" AND status IN ({','.join('?' * len(wanted))})"
            params += wanted
        return [_item_from_row(r) for r in self._query(sql + " ORDER BY position", params)]

    def item_versions(self, session_id: str) -> dict[int, int]:
        """Each item's id and revision, cheaply: lets a view re-read only what changed."""
        rows = self._query("SELECT id, revision FROM items WHERE session_id = ?", (session_id,))
        return {row[0]: row[1] for row in rows}

    def items_marker(self, session_id: str) -> tuple[int, ...]:
        """A fingerprint of the session's items in one cheap query: every change of an item
        raises its revision, so an equal marker means nothing changed. (Timestamps were not
        enough: two changes within one clock tick looked like one.)"""
        row = self._query(
            "SELECT COUNT(*), MAX(id), TOTAL(revision) FROM items WHERE session_id = ?",
            (session_id,),
        )[0]
        return tuple(int(value or 0) for value in row)

    def items_by_id(self, item_ids: Iterable[int]) -> list[Item]:
        wanted = list(item_ids)
        found: list[Item] = []
        for start in range(0, len(wanted), ARCHIVE_QUERY_CHUNK):
            chunk = wanted[start : start + ARCHIVE_QUERY_CHUNK]
            rows = self._query(
                f"SELECT * FROM items WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found += [_item_from_row(r) for r in rows]
        return found

    def finished_since(self, session_id: str, since: str | None) -> list[Item]:
        """Items that finished at or after `since` (a finished_at value), oldest first.

        Lets a view report new results without reading the whole session each time.
        """
        rows = self._query(
            "SELECT * FROM items WHERE session_id = ? AND finished_at IS NOT NULL"
            " AND finished_at >= ? ORDER BY finished_at, position",
            (session_id, since or ""),
        )
        return [_item_from_row(r) for r in rows]

    def get_item(self, item_id: int) -> Item:
        rows = self._query("SELECT * FROM items WHERE id = ?", (item_id,))
        if not rows:
            raise KeyError(item_id)
        return _item_from_row(rows[0])

    def counts(self, session_id: str) -> SessionCounts:
        counts = SessionCounts()
        rows = self._query(
            "SELECT status, COUNT(*) AS n, COALESCE(SUM(duration), 0) AS seconds"
            " FROM items WHERE session_id = ? GROUP BY status",
            (session_id,),
        )
        for row in rows:
            setattr(counts, row["status"], row["n"])
            counts.total += row["n"]
            counts.audio_seconds_total += row["seconds"]
            if row["status"] in (ItemStatus.DONE, ItemStatus.FAILED, ItemStatus.SKIPPED):
                counts.audio_seconds_done += row["seconds"]
            if row["status"] == ItemStatus.DONE:
                counts.audio_seconds_transcribed += row["seconds"]
        left = self._query(
            "SELECT COALESCE(SUM(CASE WHEN status = ? THEN duration * progress END), 0)"
            " AS seconds, COALESCE(SUM(duration IS NULL), 0) AS unknown,"
            " COALESCE(SUM(CASE WHEN status = ? THEN progress END), 0) AS progress FROM items"
            " WHERE session_id = ? AND status IN (?, ?)",
            (ItemStatus.RUNNING, ItemStatus.RUNNING, session_id, ItemStatus.QUEUED,
             ItemStatus.RUNNING),
        )  # fmt: skip
        counts.audio_seconds_done += left[0]["seconds"]
        counts.unknown_lengths_left = left[0]["unknown"]
        counts.running_progress = left[0]["progress"]
        return counts

    def start_item(self, item_id: int) -> int | None:
        """Mark a queued item running and open an attempt; returns the attempt number.

        None when the item is not queued (another process or a late message got there first).
        """
        now = utc_now()
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE items SET status = ?, stage = ?, progress = 0, attempts = attempts + 1,"
                " error_kind = NULL, error_message = NULL, started_at = COALESCE(started_at, ?),"
                " updated_at = ?, revision = revision + 1 WHERE id = ? AND status = ?",
                (ItemStatus.RUNNING, Stage.FETCHING, now, now, item_id, ItemStatus.QUEUED),
            )
            if cursor.rowcount != 1:
                return None
            number = conn.execute("SELECT attempts FROM items WHERE id = ?", (item_id,)).fetchone()[
                0
            ]
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
        sql += " WHERE id = ?" + _ATTEMPT_GUARD * (attempt is not None)
        params += [item_id, *_guard_params(attempt)]
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
                + _ATTEMPT_GUARD
                * (attempt is not None),
                (
                    status,
                    stage,
                    status == ItemStatus.DONE,
                    json.dumps(list(outputs)),
                    method,
                    language,
                    error_kind,
                    _scrubbed(error_message),
                    now,
                    now,
                    item_id,
                    *_guard_params(attempt),
                ),
            )
            if cursor.rowcount != 1:
                return False
            self._close_attempt(conn, item_id, status, error_kind, _scrubbed(error_message), now)
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
        error_message = _scrubbed(error_message)
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE items SET status = ?, stage = ?, progress = 0, error_kind = ?,"
                " error_message = ?, updated_at = ?, revision = revision + 1"
                " WHERE id = ? AND status = ?" + _ATTEMPT_GUARD * (attempt is not None),
                (
                    ItemStatus.QUEUED,
                    Stage.QUEUED,
                    error_kind,
                    error_message,
                    now,
                    item_id,
                    ItemStatus.RUNNING,
                    *_guard_params(attempt),
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

    def requeue_failed(self, session_id: str, kinds: Iterable[str] | None = None) -> int:
        """Put failed items back in the queue; only those that failed for one of `kinds` when
        given (e.g. a full disk or the network, which the user may have fixed since)."""
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
        with self._transaction() as conn:
            return conn.execute(sql, params).rowcount

    def set_provider_request_id(self, item_id: int, request_id: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE attempts SET provider_request_id = ? WHERE id = ("
                " SELECT MAX(id) FROM attempts WHERE item_id = ?)",
                (request_id, item_id),
            )

    # --- transcripts: kept so outputs can always be written again -----------------------

    def save_transcript(self, item_id: int, transcript: Transcript, transcribed_at: str) -> None:
        segments = [dataclasses.asdict(s) for s in transcript.segments]
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO transcripts (item_id, segments_json, language, duration,"
                " engine, model, method, timing_estimated, decoding_json, transcribed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item_id,
                    json.dumps(segments, ensure_ascii=False),
                    transcript.language,
                    transcript.duration,
                    transcript.engine,
                    transcript.model,
                    transcript.method,
                    int(transcript.timing_estimated),
                    json.dumps(transcript.decoding, default=str),
                    transcribed_at,
                ),
            )

    def transcript(self, item_id: int) -> StoredTranscript | None:
        rows = self._query("SELECT * FROM transcripts WHERE item_id = ?", (item_id,))
        if not rows:
            return None
        row = rows[0]
        transcript = Transcript(
            segments=[Segment(**s) for s in json.loads(row["segments_json"])],
            language=row["language"],
            duration=row["duration"],
            engine=row["engine"],
            model=row["model"],
            method=row["method"],
            timing_estimated=bool(row["timing_estimated"]),
            decoding=json.loads(row["decoding_json"]),
        )
        return StoredTranscript(transcript=transcript, transcribed_at=row["transcribed_at"])

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

    # --- events ---------------------------------------------------------------------------

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

    # --- archive: what earlier sessions already transcribed -------------------------------

    def transcribed(self, sources: Iterable[str]) -> set[str]:
        """Which of `sources` some session has transcribed (for marking search results)."""
        wanted = list(dict.fromkeys(sources))
        found: set[str] = set()
        for start in range(0, len(wanted), ARCHIVE_QUERY_CHUNK):
            chunk = wanted[start : start + ARCHIVE_QUERY_CHUNK]
            rows = self._query(
                "SELECT DISTINCT source FROM items WHERE status = ?"
                f" AND source IN ({','.join('?' * len(chunk))})",
                (ItemStatus.DONE, *chunk),
            )
            found.update(row["source"] for row in rows)
        return found

    def done_elsewhere(self, session_id: str, sources: Iterable[str]) -> dict[str, ArchivedItem]:
        """For each of `sources` finished in another session, its most recent success.

        A local file counts only if its fingerprint matches: a different file now at the same
        path is new work.
        """
        wanted = list(dict.fromkeys(sources))
        found: dict[str, ArchivedItem] = {}
        for start in range(0, len(wanted), ARCHIVE_QUERY_CHUNK):
            chunk = wanted[start : start + ARCHIVE_QUERY_CHUNK]
            rows = self._query(
                "SELECT i.source, i.session_id, i.outputs_json, i.finished_at, s.out_dir"
                " FROM items i JOIN sessions s ON s.id = i.session_id"
                " JOIN items mine ON mine.session_id = ? AND mine.source = i.source"
                " WHERE i.status = ? AND i.session_id != ? AND i.fingerprint IS mine.fingerprint"
                f" AND i.source IN ({','.join('?' * len(chunk))}) ORDER BY i.finished_at",
                (session_id, ItemStatus.DONE, session_id, *chunk),
            )
            for row in rows:  # ordered oldest first, so the latest success wins
                folder = Path(row["out_dir"]) / "sessions" / row["session_id"]
                found[row["source"]] = ArchivedItem(
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


# Appended to an UPDATE of one item: only while that attempt is the one running.
_ATTEMPT_GUARD = " AND status = 'running' AND attempts = ?"


def _guard_params(attempt: int | None) -> list[Any]:
    return [] if attempt is None else [attempt]


@dataclass(frozen=True)
class StoredTranscript:
    transcript: Transcript
    transcribed_at: str  # UTC, ISO 8601


ARCHIVE_QUERY_CHUNK = 500  # below SQLite's limit on host parameters in one statement
ALREADY_DONE = "already_done"  # why an archived item was skipped


@dataclass(frozen=True)
class ArchivedItem:
    session_id: str
    finished_at: str | None
    outputs: list[str]  # absolute paths of the earlier transcripts


def _scrubbed(message: str | None) -> str | None:
    return scrub_text(message) if message else message


def database_error(path: Path, exc: sqlite3.DatabaseError) -> PermanentError:
    """What an SQLite failure means for the user, and what to do about it."""
    text = str(exc).lower()
    if is_disk_full(exc):
        return disk_full(f"saving to the database {path}")
    if "readonly" in text or "read-only" in text:
        return PermanentError(
            ErrorKind.DATABASE,
            f"{path} is read-only: choose a folder you can write to with --out (or --db)",
        )
    if "unable to open" in text:
        return PermanentError(
            ErrorKind.DATABASE,
            f"cannot open the database {path} ({exc}): check that its folder exists and is "
            "writable, or choose another with --out (or --db)",
        )
    if "locked" in text or "busy" in text:
        return PermanentError(
            ErrorKind.DATABASE,
            f"the database {path} is busy (another program holds it): try again in a moment",
        )
    return PermanentError(
        ErrorKind.DATABASE,
        f"the database {path} is damaged or not a Bulk Transcribe database ({exc}); "
        "move it aside and run again (transcripts already in the sessions folder are kept), "
        "or restore a backup",
    )


def _session_from_row(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=SessionStatus(row["status"]),
        out_dir=Path(row["out_dir"]),
        settings=json.loads(row["settings_json"]),
        command=SessionCommand(row["command"]) if row["command"] else None,
        owner=_owner_from_row(row),
    )


def _owner_from_row(row: sqlite3.Row) -> Owner | None:
    if row["owner_id"] is None:
        return None
    return Owner(
        id=row["owner_id"],
        host=row["owner_host"] or "",
        pid=row["owner_pid"] or 0,
        heartbeat_at=row["heartbeat_at"] or 0.0,
    )


def _item_from_row(row: sqlite3.Row) -> Item:
    return Item(
        id=row["id"],
        session_id=row["session_id"],
        position=row["position"],
        key=row["key"],
        source=row["source"],
        source_type=SourceType(row["source_type"]),
        title=row["title"],
        metadata=json.loads(row["metadata_json"]),
        origin=row["origin"],
        status=ItemStatus(row["status"]),
        stage=Stage(row["stage"]),
        progress=row["progress"],
        duration=row["duration"],
        method=row["method"],
        language=row["language"],
        attempts=row["attempts"],
        error_kind=row["error_kind"],
        error_message=row["error_message"],
        outputs=json.loads(row["outputs_json"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        updated_at=row["updated_at"],
    )
