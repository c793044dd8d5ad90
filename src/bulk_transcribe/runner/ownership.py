"""Who runs a session: one live owner at a time, recognised by its heartbeat."""

from __future__ import annotations

import functools
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil

from bulk_transcribe.models import Owner

HEARTBEAT_SECONDS = 1.0
# An owner silent this long is taken for dead (a frozen laptop, a lost machine); an owner on
# this host whose process is gone is taken over at once.
OWNER_EXPIRY_SECONDS = 15.0
START_TIME_TOLERANCE = 0.5  # seconds; create_time is exact to a clock tick


class SessionBusy(Exception):
    """Another live process is running the session."""

    def __init__(self, session_id: str, owner: Owner):
        self.session_id = session_id
        self.owner = owner
        super().__init__(
            f"session {session_id} is being processed by pid {owner.pid} on host {owner.host}; "
            f"use `bulk-transcribe status {session_id}` to watch it, or "
            f"`bulk-transcribe stop {session_id}` to stop it"
        )


def new_owner() -> Owner:
    pid = os.getpid()
    return Owner(
        id=uuid.uuid4().hex,
        host=socket.gethostname(),
        pid=pid,
        heartbeat_at=time.time(),
        machine=this_machine(),
        started=_start_time(pid) or 0.0,
    )


@functools.cache
def this_machine() -> str:
    """Where a pid means one process: this kernel's boot (its boot id) and this pid namespace.

    Containers on one host share a hostname sometimes and a boot id always, but not a pid
    namespace: a pid seen from another one says nothing about the owner's process.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:  # not Linux: the host name is all there is
        return f"host:{socket.gethostname()}"
    return f"{boot}/{namespace}"


def _start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_dead(owner: Owner) -> bool:
    """True when the owner's process is known to be gone: only provable where its pid means
    something (this machine); a pid now held by a process started later is not the owner."""
    if owner.machine:
        if owner.machine != this_machine():
            return False
    elif owner.host != socket.gethostname():  # recorded before machines were
        return False
    try:
        process = psutil.Process(owner.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        started = process.create_time()
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False
    # create_time is derived from the boot time and clock ticks: stable for one process.
    return bool(owner.started) and abs(started - owner.started) > START_TIME_TOLERANCE


def is_alive(owner: Owner | None, now: float | None = None) -> bool:
    """Whether `owner` still runs its session: a fresh heartbeat and, here, a live process."""
    if owner is None:
        return False
    fresh = owner.heartbeat_age(now if now is not None else time.time()) < OWNER_EXPIRY_SECONDS
    return fresh and not is_dead(owner)


# How long a claimant watches an owner whose heartbeat looks old before taking it for gone.
BEAT_WATCH_SECONDS = 3 * HEARTBEAT_SECONDS


def still_beating(owner: Owner, read_owner: Callable[[], Owner | None]) -> Owner | None:
    """An owner whose heartbeat looks older than the expiry by this process's clock may only
    be on another clock (a clock that jumped, another machine's skew): its heartbeat, written
    every second, is watched for a few beats with this process's own steady clock. Returns
    the owner when its heartbeat moved (alive: not to be taken over), else None."""
    deadline = time.monotonic() + BEAT_WATCH_SECONDS
    while time.monotonic() < deadline:
        time.sleep(HEARTBEAT_SECONDS / 4)
        now = read_owner()
        if now is None or now.id != owner.id:
            return None  # let go, or claimed by another: the claim decides
        if now.heartbeat_at != owner.heartbeat_at:
            return now
    return None
