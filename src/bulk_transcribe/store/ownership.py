"""Ownership: at most one live process runs a session."""

from __future__ import annotations

import time
from collections.abc import Callable

from bulk_transcribe.models import (
    Owner,
    SessionStatus,
)
from bulk_transcribe.store.database import Database, Fence, utc_now
from bulk_transcribe.store.rows import owner_from_row


class OwnershipTable(Database):
    """Claiming, renewing and releasing a session."""

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
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise KeyError(session_id)
            current = owner_from_row(row)
            if (
                current is not None
                and current.id != claimant.id
                and current.heartbeat_age(time.time()) < expiry
                and not is_dead(current)
            ):
                return current
            conn.execute(
                "UPDATE sessions SET owner_id = ?, owner_host = ?, owner_pid = ?,"
                " owner_machine = ?, owner_started = ?, heartbeat_at = ?,"
                " owner_generation = owner_generation + 1 WHERE id = ?",
                (claimant.id, claimant.host, claimant.pid, claimant.machine or None,
                 claimant.started or None, time.time(), session_id),
            )  # fmt: skip
        return None

    def owner_fence(self, session_id: str, owner_id: str) -> Fence | None:
        """The fence of `owner_id`'s claim on the session; None when it does not hold it."""
        rows = self._query(
            "SELECT owner_generation FROM sessions WHERE id = ? AND owner_id = ?",
            (session_id, owner_id),
        )
        return Fence(session_id, owner_id, rows[0]["owner_generation"]) if rows else None

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
