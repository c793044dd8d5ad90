"""Who runs a session: one live owner at a time, recognised by its heartbeat."""

from __future__ import annotations

import os
import socket
import time
import uuid

import psutil

from bulk_transcribe.models import Owner

HEARTBEAT_SECONDS = 1.0
# An owner silent this long is taken for dead (a frozen laptop, a lost machine); an owner on
# this host whose process is gone is taken over at once.
OWNER_EXPIRY_SECONDS = 15.0


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
    return Owner(
        id=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), heartbeat_at=time.time()
    )


def is_dead(owner: Owner) -> bool:
    """True when the owner's process is known to be gone (only provable on this host)."""
    if owner.host != socket.gethostname():
        return False
    try:
        process = psutil.Process(owner.pid)
    except psutil.NoSuchProcess:
        return True
    return process.status() == psutil.STATUS_ZOMBIE


def is_alive(owner: Owner | None, now: float | None = None) -> bool:
    """Whether `owner` still runs its session: a fresh heartbeat and, here, a live process."""
    if owner is None:
        return False
    fresh = owner.heartbeat_age(now if now is not None else time.time()) < OWNER_EXPIRY_SECONDS
    return fresh and not is_dead(owner)
