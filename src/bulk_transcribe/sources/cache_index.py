"""The download cache's ledger: each cached file's size and last use, and their running total,
in a small SQLite file beside the cache that every process shares.

Without it every download walked and stat-ed the whole cache to learn its size (O(files) per
download: 540 ms at 50,000 files). With it a download costs one short transaction, and only a
cache over its cap reads its least recently used rows. SQLite, not a hand-written index file,
because it already gives atomic updates across processes (BEGIN IMMEDIATE under WAL).

The ledger may fall behind the disk (a file deleted by hand): eviction checks every candidate
on disk and drops rows whose file is gone, and `reconcile` rebuilds it from a walk (run by
`bulk-transcribe cache`, and when the ledger is first created next to an older cache).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Rows looked at per eviction at most: bounded work even when nearly everything is in use.
MAX_CANDIDATES = 256
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path      TEXT PRIMARY KEY,  -- relative to the cache folder, with / separators
    size      INTEGER NOT NULL,
    last_used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_last_used ON files (last_used);
CREATE TABLE IF NOT EXISTS totals (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    bytes INTEGER NOT NULL,
    built INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class LedgerRow:
    path: str  # relative to the cache folder
    size: int
    last_used: float


class CacheLedger:
    """One ledger file; one connection per process, shared by its threads under a lock."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._built = False
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def ensure_built(self, scan: Callable[[], Iterable[LedgerRow]]) -> None:
        """The first process to open a new ledger fills it from the files already there."""
        if self._built:
            return
        with self.transaction() as conn:
            if conn.execute("SELECT built FROM totals WHERE id = 1").fetchone() is None:
                self._replace(conn, scan())
        self._built = True

    def reconcile(self, rows: Iterable[LedgerRow]) -> None:
        """Make the ledger say exactly what a fresh walk of the cache found."""
        with self.transaction() as conn:
            self._replace(conn, rows)

    @staticmethod
    def _replace(conn: sqlite3.Connection, rows: Iterable[LedgerRow]) -> None:
        listed = [(r.path, r.size, r.last_used) for r in rows]
        conn.execute("DELETE FROM files")
        conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", listed)
        total = conn.execute("SELECT COALESCE(SUM(size), 0) FROM files").fetchone()[0]
        conn.execute("INSERT OR REPLACE INTO totals VALUES (1, ?, 1)", (total,))

    def record(self, path: str, size: int, used: float) -> int:
        """A file was added (or replaced); returns the cache's total bytes after it."""
        with self.transaction() as conn:
            old = conn.execute("SELECT size FROM files WHERE path = ?", (path,)).fetchone()
            conn.execute(
                "INSERT INTO files VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE"
                " SET size = excluded.size, last_used = excluded.last_used",
                (path, size, used),
            )
            return self._add_to_total(conn, size - (old[0] if old else 0))

    def touch(self, path: str, size: int, used: float) -> None:
        """A hit: the file is now the most recently used (added if the ledger missed it)."""
        with self.transaction() as conn:
            updated = conn.execute(
                "UPDATE files SET last_used = ? WHERE path = ?", (used, path)
            ).rowcount
            if not updated:
                conn.execute("INSERT INTO files VALUES (?, ?, ?)", (path, size, used))
                self._add_to_total(conn, size)

    def drop(self, path: str) -> None:
        with self.transaction() as conn:
            self._drop(conn, path)

    def total(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT bytes FROM totals WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def evict(self, max_bytes: int, remove: Callable[[LedgerRow], bool | None]) -> tuple[int, int]:
        """While over `max_bytes`, offer the least recently used rows to `remove`: True when
        it deleted the file, False to keep it (in use), None when the file was already gone.
        Returns (files, bytes) freed."""
        removed = freed = 0
        with self.transaction() as conn:
            total = self._total(conn)
            if total <= max_bytes:
                return 0, 0
            rows = conn.execute(
                "SELECT path, size, last_used FROM files ORDER BY last_used LIMIT ?",
                (MAX_CANDIDATES,),
            ).fetchall()
            for row in (LedgerRow(*r) for r in rows):
                if total <= max_bytes:
                    break
                outcome = remove(row)
                if outcome is False:
                    continue
                self._drop(conn, row.path)
                total -= row.size
                if outcome:
                    removed, freed = removed + 1, freed + row.size
        return removed, freed

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _drop(self, conn: sqlite3.Connection, path: str) -> None:
        old = conn.execute("DELETE FROM files WHERE path = ? RETURNING size", (path,)).fetchone()
        if old:
            self._add_to_total(conn, -old[0])

    @staticmethod
    def _total(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT bytes FROM totals WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def _add_to_total(self, conn: sqlite3.Connection, delta: int) -> int:
        row = conn.execute(
            "UPDATE totals SET bytes = MAX(0, bytes + ?) WHERE id = 1 RETURNING bytes", (delta,)
        ).fetchone()
        if row is None:
            conn.execute("INSERT INTO totals VALUES (1, MAX(0, ?), 1)", (delta,))
            return max(0, delta)
        return int(row[0])


_open: dict[tuple[int, str], CacheLedger] = {}
_open_lock = threading.Lock()


def ledger_for(path: Path) -> CacheLedger:
    """This process's connection to the ledger at `path` (a forked child opens its own).

    Found by the path as given first: resolving it stats every folder above it, and this
    runs on every download."""
    pid = os.getpid()
    with _open_lock:
        ledger = _open.get((pid, str(path)))
        if ledger is None:
            canonical = (pid, str(path.resolve()))
            ledger = _open.get(canonical)
            if ledger is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                ledger = CacheLedger(path)
            _open[canonical] = _open[(pid, str(path))] = ledger
        return ledger
