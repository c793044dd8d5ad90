"""One lock per cached file, across the threads and processes that share a download cache, on a
single lock file each process opens once.

Each key (a cached file's name) locks one byte of the lock file, at an offset taken from the
key's hash (POSIX record locks, `fcntl.lockf`): any number of keys, no file per key, no two
links sharing a lock. Record locks belong to the process, so threads of one process also take
the key's `threading.Lock` first.

Written by hand because `filelock` (used before) opens its lock file anew on every acquire
(an exclusive create first, then the existing file) and probes the folder with a temporary
file: three opens, two of them creating, about 1 ms of CPU per download on this kind of file
system, nearly half of what a link cost more than a local file. And a lock file per key grew a
folder by a file per link, while a few striped files made links share locks. Here a lock is
one `lockf` call on a descriptor kept open: nothing is created, opened or deleted.

POSIX record locks have two traps, both kept away from here: closing *any* descriptor of the
file drops all of the process's locks on it (the descriptor is opened once per process and never
closed, and nothing else opens this file), and locks are not inherited by a forked child (a
child opens its own descriptor: the registry is keyed by process id). The kernel drops a
killed process's locks, so a crash never leaves a link locked.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.05  # how often a wait checks for a cancel (and, across processes, retries)
_OFFSET_BYTES = 6  # 48-bit offsets: two keys share a lock about once in 10**14 pairs
_BUSY = (errno.EACCES, errno.EAGAIN)  # what lockf says when another process holds the range
# What lockf says on a file system without record locks (some network mounts).
_UNSUPPORTED = (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP)

log = logging.getLogger(__name__)


class KeyLocks:
    """Exclusive locks by key over one lock file; one instance per process and file."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        remove_earlier_lock_files(path)
        self._guard = threading.Lock()
        self._threads: dict[int, tuple[threading.Lock, int]] = {}  # offset -> (lock, users)
        self._across_processes = True  # False where the file system has no record locks

    @contextmanager
    def hold(self, key: str, check_cancelled: Callable[[], None] = lambda: None) -> Iterator[bool]:
        """`key`'s lock until the block ends; waiting for it ends on a cancel (raised by
        `check_cancelled`). Yields whether it also keeps other processes out (False on a file
        system without record locks: then only this process's threads take turns)."""
        offset = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=_OFFSET_BYTES).digest())
        thread_lock = self._join(offset)
        try:
            check_cancelled()
            while not thread_lock.acquire(timeout=POLL_SECONDS):
                check_cancelled()
            try:
                self._lock_range(offset, check_cancelled)
                try:
                    yield self._across_processes
                finally:
                    if self._across_processes:
                        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, offset)
            finally:
                thread_lock.release()
        finally:
            self._leave(offset)

    def _lock_range(self, offset: int, check_cancelled: Callable[[], None]) -> None:
        # Never a blocking F_SETLKW: it could not be cut short by a cancel.
        while self._across_processes:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                return
            except OSError as exc:
                if exc.errno in _UNSUPPORTED:
                    # Downloads still work and threads still take turns; only two processes
                    # on one output folder may then fetch one link twice (never a half file).
                    log.warning(
                        "%s: this file system has no file locks, so two processes sharing "
                        "this output folder may each download the same link",
                        self.path.parent,
                    )
                    self._across_processes = False
                    return
                if exc.errno not in _BUSY:
                    raise
            time.sleep(POLL_SECONDS)
            check_cancelled()

    def _join(self, offset: int) -> threading.Lock:
        """The key's lock for this process's threads, kept only while someone uses it."""
        with self._guard:
            lock, users = self._threads.get(offset) or (threading.Lock(), 0)
            self._threads[offset] = (lock, users + 1)
            return lock

    def _leave(self, offset: int) -> None:
        with self._guard:
            lock, users = self._threads[offset]
            if users > 1:
                self._threads[offset] = (lock, users - 1)
            else:
                del self._threads[offset]


def remove_earlier_lock_files(path: Path) -> None:
    """Delete the lock files earlier versions left beside `path`: a file per link, then 4,096
    striped ones (`NNNN.lock`), all empty and unused by this version. Only an earlier version
    still running on this folder used them, and it never excluded this version anyway (the
    README says so)."""
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if _EARLIER_LOCK_FILE.fullmatch(name) and name != path.name:
            with contextlib.suppress(OSError):
                os.unlink(path.parent / name)


# Earlier versions' lock file names: a stripe's number, or a cached file's folder and name.
_EARLIER_LOCK_FILE = re.compile(r"(\d{4}|[a-z_]+-[^/]+)\.lock")

_open: dict[tuple[int, str], KeyLocks] = {}
_open_lock = threading.Lock()


def key_locks(path: Path) -> KeyLocks:
    """This process's locks on the lock file at `path` (a forked child opens its own).

    One instance per file and process, whatever the spelling of its path: two descriptors of
    one file in a process would not exclude each other's threads, and closing one would drop
    the other's locks."""
    pid = os.getpid()
    with _open_lock:
        found = _open.get((pid, str(path)))
        if found is None:
            canonical = (pid, str(path.resolve()))
            found = _open.get(canonical) or KeyLocks(path)
            _open[canonical] = _open[(pid, str(path))] = found
        return found
