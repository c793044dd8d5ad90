"""Numbers and times as the panels show them."""

from __future__ import annotations

from datetime import UTC, datetime

from bulk_transcribe.figures import clock

__all__ = ["clock", "elapsed", "eta", "parse_time", "seconds_since"]


def eta(seconds: float | None) -> str:
    """A rough, short ETA: "~3 min", "< 1 min", "—" when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return "< 1 min"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"~{minutes} min"
    return f"~{minutes / 60:.1f} h"


def parse_time(stamp: str | None) -> datetime | None:
    """The store's ISO timestamps ("…Z") as aware datetimes."""
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def seconds_since(stamp: str | None, now: datetime | None = None) -> float | None:
    start = parse_time(stamp)
    if start is None:
        return None
    return max(0.0, ((now or datetime.now(UTC)) - start).total_seconds())


def rate(value: float | None, unit: str) -> str:
    return "—" if value is None else f"{value:.1f} {unit}"


def elapsed(seconds: float | None) -> str:
    """How long something has been going, for an item whose progress is not known yet."""
    return f"{clock(seconds)} elapsed" if seconds is not None else "just started"
