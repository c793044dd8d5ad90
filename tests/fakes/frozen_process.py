"""Freezing a real runner process (SIGSTOP) at a moment it holds no write lock on the store,
for the takeover tests and `benchmarks/stalled_owner.py`: a process frozen inside a write
keeps every other one from writing, so none could take its session over."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import psutil

STOP_TRIES = 100
STOPPED_WAIT_SECONDS = 30.0  # only ends a hang: a stop is seen in milliseconds


def write_locked(db: Path) -> bool:
    """Whether some process holds the store's write lock now."""
    connection = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


def stop_between_writes(process: subprocess.Popen, db: Path) -> None:
    """SIGSTOP `process` at a moment it holds no write lock on `db` (tried again after a
    SIGCONT while it does)."""
    for _ in range(STOP_TRIES):
        process.send_signal(signal.SIGSTOP)
        _wait_stopped(process.pid)
        if not write_locked(db):
            return
        process.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise RuntimeError("the runner held the store's write lock at every try")


def _wait_stopped(pid: int) -> None:
    deadline = time.monotonic() + STOPPED_WAIT_SECONDS
    while psutil.Process(pid).status() != psutil.STATUS_STOPPED:
        if time.monotonic() > deadline:
            raise RuntimeError(f"process {pid} did not stop")
        time.sleep(0.005)
