"""Throughput and time left: one rule for the runner's metrics, the CLI and the web app.

Rates are measured over the time a session was actually running (all its runs, pauses left
out) and cover the items finished in every run, so a pause, a resume or a retry does not
inflate them. Time left counts items while some remaining item's length is unknown (links
not fetched yet), and audio once every remaining length is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bulk_transcribe.models import SessionCounts


@dataclass(frozen=True)
class Pace:
    items_per_minute: float | None  # finished (done or failed) items
    audio_minutes_per_minute: float | None  # audio of the items transcribed


@dataclass(frozen=True)
class TimeLeft:
    seconds: float | None  # None: no estimate yet
    basis: str  # "audio", "items", or "" without an estimate


def pace(counts: SessionCounts, active_seconds: float | None) -> Pace:
    worked = counts.done + counts.failed  # skipped items took no time
    if not worked or not active_seconds:
        return Pace(None, None)
    minutes = max(active_seconds, 1.0) / 60
    audio = counts.audio_seconds_transcribed / 60
    return Pace(worked / minutes, audio / minutes if audio else None)


def time_left(counts: SessionCounts, rates: Pace) -> TimeLeft:
    items_left = counts.queued + counts.running
    if not items_left:
        return TimeLeft(0.0, "")
    if rates.audio_minutes_per_minute and not counts.unknown_lengths_left:
        audio_left = max(counts.audio_seconds_total - counts.audio_seconds_done, 0.0)
        return TimeLeft(audio_left / rates.audio_minutes_per_minute, "audio")
    if rates.items_per_minute:
        unfinished = max(items_left - counts.running_progress, 0.0)  # half done: half left
        return TimeLeft(unfinished / rates.items_per_minute * 60, "items")
    return TimeLeft(None, "")


def clock(seconds: float | None, *, moment: bool = False) -> str:
    """1:02:03, 4:05 or 0:07; an empty string when unknown. A `moment` in a recording is
    floored (a segment at 65.9 s is at 1:05, where its link starts); a duration is rounded."""
    if seconds is None:
        return ""
    total = max(0, math.floor(seconds) if moment else round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
