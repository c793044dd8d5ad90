"""One SQLite connection (WAL) behind a lock: transactions, migrations, what failures mean."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bulk_transcribe.errors import ErrorKind, PermanentError, disk_full, is_disk_full
from bulk_transcribe.store.schema import MIGRATIONS, SCHEMA_VERSION

# Read connections kept open between reads; more readers at once open, and then close, more.
IDLE_READERS = 4


def migration_statements(script: str) -> list[str]:
    """A migration's statements: split at semicolons, except inside a trigger's body."""
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                statements.append(pending)
            pending = ""
    return statements


class Superseded(Exception):
    """A write of a runner whose session another process has claimed since: refused."""

    def __init__(self, session_id: str):
        self.session_id = session_id
        super().__init__(f"session {session_id} was taken over by another process")


@dataclass(frozen=True)
class Fence:
    """Writes made under it happen only while this owner, at this generation, holds the
    session; checked inside each write transaction, so nothing slips between check and write."""

    session_id: str
    owner_id: str
    generation: int


# The fence of the thread writing now (each thread starts without one): a runner's
# coordinator and heartbeat threads write under theirs, views and tests write freely.
_fence: ContextVar[Fence | None] = ContextVar("bulk_transcribe_store_fence", default=None)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def database_error(path: Path, exc: sqlite3.DatabaseError) -> PermanentError:
    """What an SQLite failure means for the user, and what to do about it."""
    text = str(exc).lower()
    if is_disk_full(exc) or (_is_io_error(exc) and _low_on_space(path)):
        # A full disk can also come back as an I/O error (growing the WAL's shared memory
        # file: SQLITE_IOERR_SHMSIZE), never as a damaged database.
        return disk_full(f"saving to the database {path}")
    if _is_io_error(exc):
        return PermanentError(
            ErrorKind.DATABASE,
            f"the disk failed to read or write the database {path} ({exc}); the database "
            "itself is most likely intact: check the drive (still attached, not a network "
            "folder that dropped) and run again",
        )
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


# Below this much free space, an I/O error of the database is taken for a full disk.
_LOW_SPACE_BYTES = 16 * 1024**2


def _is_io_error(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith("SQLITE_IOERR") or "disk i/o error" in str(exc).lower()


def _low_on_space(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < _LOW_SPACE_BYTES
    except OSError:
        return False


class Database:
    """Thread-safe access to one SQLite database, shared by runner threads and views; the
    tables' classes below add their own reads and writes to it.

    Writes go through one connection under a lock. Reads outside a write use connections of
    their own (WAL: a reader never waits for the writer, nor the writer for a reader), so a
    view asking several times a second never holds up the runner's writes.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._writing = threading.local()  # whether this thread is inside _transaction
        self._idle_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
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
        with self._readers_lock:
            self._closed = True
            idle, self._idle_readers = self._idle_readers, []
        for reader in idle:
            reader.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def fenced(self, fence: Fence) -> Iterator[None]:
        """Every write of this thread inside is refused (Superseded) once `fence` is not
        the session's owner any more."""
        token = _fence.set(fence)
        try:
            yield
        finally:
            _fence.reset(token)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._database_errors():
            self._conn.execute("BEGIN IMMEDIATE")
            self._writing.active = True
            try:
                self._check_fence()
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # SQLite may have rolled back itself (full)
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                self._writing.active = False
            self._conn.execute("COMMIT")

    def _check_fence(self) -> None:
        fence = _fence.get()
        if fence is None:
            return
        row = self._conn.execute(
            "SELECT 1 FROM sessions WHERE id = ? AND owner_id = ? AND owner_generation = ?",
            (fence.session_id, fence.owner_id, fence.generation),
        ).fetchone()
        if row is None:
            raise Superseded(fence.session_id)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        if getattr(self._writing, "active", False) or str(self.path) == ":memory:":
            with self._lock, self._database_errors():  # sees this thread's uncommitted writes
                return self._conn.execute(sql, params).fetchall()
        with self._reader() as reader, self._database_errors():
            return reader.execute(sql, params).fetchall()

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A read connection for one query: an idle one, or a new one."""
        with self._readers_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            reader = self._idle_readers.pop() if self._idle_readers else None
        if reader is None:
            with self._database_errors():
                reader = sqlite3.connect(
                    self.path, check_same_thread=False, isolation_level=None, timeout=30
                )
                reader.row_factory = sqlite3.Row
                reader.execute("PRAGMA query_only=ON")
        try:
            yield reader
        finally:
            with self._readers_lock:
                keep = not self._closed and len(self._idle_readers) < IDLE_READERS
                if keep:
                    self._idle_readers.append(reader)
            if not keep:
                reader.close()

    def _migrate(self) -> None:
        # An up-to-date database is opened without a write: `status` and `sessions` still
        # read it on a full disk (setting user_version writes a page even to the same value).
        if self._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        with self._transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise PermanentError(
                    ErrorKind.DATABASE,
                    f"{self.path} was written by a newer Bulk Transcribe (schema {version}); "
                    "upgrade bulk-transcribe to open it",
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in migration_statements(MIGRATIONS[step]):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
