"""Followed sources (feeds, channels, playlists, searches) and what each has already given."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from bulk_transcribe.models import ItemStatus, Owner
from bulk_transcribe.store import Store, utc_now


@dataclass(frozen=True)
class FollowFilters:
    """What of a followed source is wanted; empty keeps everything."""

    latest: int | None = None  # the newest N episodes or videos at each check
    date_after: date | None = None
    date_before: date | None = None
    title_words: tuple[str, ...] = ()  # a title must contain one of them (any case)
    # A feed followed for its latest N: the day its first check reached back to. Later checks
    # take every episode from that day on, however many appeared between two of them.
    since: date | None = None

    def to_json(self) -> str:
        values = asdict(self)
        for name in ("date_after", "date_before", "since"):
            values[name] = values[name].isoformat() if values[name] else None
        values["title_words"] = list(self.title_words)
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> FollowFilters:
        values: dict[str, Any] = json.loads(text or "{}")
        return cls(
            latest=values.get("latest"),
            date_after=_day(values.get("date_after")),
            date_before=_day(values.get("date_before")),
            title_words=tuple(values.get("title_words") or ()),
            since=_day(values.get("since")),
        )

    def describe(self) -> str:
        parts = []
        if self.latest:
            parts.append(f"latest {self.latest}")
        if self.since:
            parts.append(f"every episode since {self.since.isoformat()}")
        if self.date_after:
            parts.append(f"from {self.date_after.isoformat()}")
        if self.date_before:
            parts.append(f"until {self.date_before.isoformat()}")
        if self.title_words:
            parts.append("title: " + " or ".join(self.title_words))
        return ", ".join(parts)


@dataclass(frozen=True)
class Follow:
    id: int
    url: str
    kind: str  # "podcast feed", "youtube", "search"
    title: str | None
    filters: FollowFilters = field(default_factory=FollowFilters)
    added_at: str = ""
    checked_at: str | None = None  # the last update that looked at it
    last_session_id: str | None = None  # the session that update created, if any
    last_found: int | None = None  # entries the last check saw
    last_new: int | None = None  # of them, new work
    last_problem: str | None = None  # why the last check could not read it

    @property
    def name(self) -> str:
        return self.title or self.url


@dataclass(frozen=True)
class Checked:
    """What one update learnt about one followed source."""

    found: int
    new: int
    session_id: str | None = None
    title: str | None = None
    problem: str | None = None


class Follows:
    """The follows tables of one store; writes go through the store's own transactions."""

    def __init__(self, store: Store):
        self._store = store

    def add(self, url: str, kind: str, filters: FollowFilters) -> tuple[Follow, bool]:
        """Follow `url`; following it again replaces its filters. Returns it and whether it
        is new."""
        with self._store._transaction() as conn:
            existing = conn.execute("SELECT id FROM follows WHERE url = ?", (url,)).fetchone()
            if existing is None:
                conn.execute(
                    "INSERT INTO follows (url, kind, filters_json, added_at) VALUES (?, ?, ?, ?)",
                    (url, kind, filters.to_json(), utc_now()),
                )
            else:
                conn.execute(
                    "UPDATE follows SET filters_json = ?, kind = ? WHERE id = ?",
                    (filters.to_json(), kind, existing["id"]),
                )
        found = self.find(url)
        assert found is not None
        return found, existing is None

    def all(self) -> list[Follow]:
        rows = self._store._query("SELECT * FROM follows ORDER BY id")
        return [_follow_from_row(row) for row in rows]

    def find(self, url_or_id: str) -> Follow | None:
        """By its URL or its number in `bulk-transcribe follows`."""
        text = url_or_id.strip()
        if text.isdigit():
            rows = self._store._query("SELECT * FROM follows WHERE id = ?", (int(text),))
        else:
            rows = self._store._query("SELECT * FROM follows WHERE url = ?", (text,))
        return _follow_from_row(rows[0]) if rows else None

    def remove(self, follow_id: int) -> bool:
        with self._store._transaction() as conn:
            return conn.execute("DELETE FROM follows WHERE id = ?", (follow_id,)).rowcount > 0

    def move(self, follow_id: int, url: str) -> bool:
        """Follow `follow_id` at `url` from now on (its feed moved for good), unless `url` is
        followed already; what it handed on stays remembered."""
        with self._store._transaction() as conn:
            taken = conn.execute("SELECT 1 FROM follows WHERE url = ?", (url,)).fetchone()
            if taken is not None:
                return False
            conn.execute("UPDATE follows SET url = ? WHERE id = ?", (url, follow_id))
        return True

    def set_filters(self, follow_id: int, filters: FollowFilters) -> None:
        with self._store._transaction() as conn:
            conn.execute(
                "UPDATE follows SET filters_json = ? WHERE id = ?", (filters.to_json(), follow_id)
            )

    def seen(self, follow_id: int) -> set[str]:
        rows = self._store._query(
            "SELECT source FROM follow_seen WHERE follow_id = ?", (follow_id,)
        )
        return {row["source"] for row in rows}

    def record_check(self, follow_id: int, checked: Checked, sources: Iterable[str]) -> None:
        """Remember the check and the sources it handed on, in one transaction, so a source
        is marked seen exactly when the session that will transcribe it exists."""
        now = utc_now()
        with self._store._transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO follow_seen (follow_id, source, seen_at) VALUES (?, ?, ?)",
                [(follow_id, source, now) for source in sources],
            )
            conn.execute(
                "UPDATE follows SET checked_at = ?, last_found = ?, last_new = ?,"
                " last_session_id = ?, last_problem = ?, title = COALESCE(?, title)"
                " WHERE id = ?",
                (
                    now,
                    checked.found,
                    checked.new,
                    checked.session_id,
                    checked.problem,
                    checked.title,
                    follow_id,
                ),
            )

    def unfinished_update_sessions(self) -> list[str]:
        """Sessions an update created (they carry its "follow" events) with items not done
        yet, oldest first."""
        rows = self._store._query(
            "SELECT DISTINCT e.session_id FROM events e JOIN items i ON i.session_id = e.session_id"
            " WHERE e.kind = 'follow' AND i.status IN (?, ?) ORDER BY e.session_id",
            (ItemStatus.QUEUED, ItemStatus.RUNNING),
        )
        return [row["session_id"] for row in rows]

    # --- the one update at a time ----------------------------------------------------------

    def claim_update(
        self, claimant: Owner, expiry: float, is_dead: Callable[[Owner], bool]
    ) -> tuple[Owner, str] | None:
        """Make `claimant` the one running update, unless a live one holds the claim.

        Returns None when claimed, else the holder and when it started. A compare-and-set in
        one IMMEDIATE transaction; a holder silent for `expiry` seconds or known dead is
        replaced.
        """
        with self._store._transaction() as conn:
            row = conn.execute("SELECT * FROM update_claim WHERE id = 1").fetchone()
            if row is not None:
                holder = Owner(
                    row["owner_id"], row["owner_host"], row["owner_pid"], row["heartbeat_at"]
                )
                live = holder.heartbeat_age(time.time()) < expiry and not is_dead(holder)
                if live and holder.id != claimant.id:
                    return holder, row["started_at"]
            conn.execute(
                "INSERT OR REPLACE INTO update_claim (id, owner_id, owner_host, owner_pid,"
                " heartbeat_at, started_at) VALUES (1, ?, ?, ?, ?, ?)",
                (claimant.id, claimant.host, claimant.pid, time.time(), utc_now()),
            )
        return None

    def update_claim(self) -> tuple[Owner, str] | None:
        """Who claimed the running update, and when it started (alive or not)."""
        rows = self._store._query("SELECT * FROM update_claim WHERE id = 1")
        if not rows:
            return None
        row = rows[0]
        holder = Owner(row["owner_id"], row["owner_host"], row["owner_pid"], row["heartbeat_at"])
        return holder, row["started_at"]

    def renew_update_claim(self, owner_id: str) -> bool:
        with self._store._transaction() as conn:
            return (
                conn.execute(
                    "UPDATE update_claim SET heartbeat_at = ? WHERE id = 1 AND owner_id = ?",
                    (time.time(), owner_id),
                ).rowcount
                == 1
            )

    def release_update_claim(self, owner_id: str) -> None:
        with self._store._transaction() as conn:
            conn.execute("DELETE FROM update_claim WHERE id = 1 AND owner_id = ?", (owner_id,))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _follow_from_row(row: Any) -> Follow:
    return Follow(
        id=row["id"],
        url=row["url"],
        kind=row["kind"],
        title=row["title"],
        filters=FollowFilters.from_json(row["filters_json"]),
        added_at=row["added_at"],
        checked_at=row["checked_at"],
        last_session_id=row["last_session_id"],
        last_found=row["last_found"],
        last_new=row["last_new"],
        last_problem=row["last_problem"],
    )
