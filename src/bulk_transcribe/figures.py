"""Throughput and time left: one rule for the runner's metrics, the CLI and the web app.

Rates are measured over the time a session was actually running (all its runs, pauses left
out) and cover the items finished in every run, so a pause, a resume or a retry does not
inflate them. Time left counts items while some remaining item's length is unknown (links
not fetched yet), and audio once every remaining length is known.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bulk_transcribe.models import SessionCounts


@dataclass(frozen=True)
class Pace:
    items_per_minute: float | None  # finished (done or failed) items
    audio_minutes_per_minute: float | None  # audio of the items transcribed


@dataclass(frozen=True)
class TimeLeft:
    seconds: float | None  # None: no estimate yet
    basis: str  # "audio", "items", or "" without an estimate
    # On the items basis, where finished lengths allow it: the time left if the items of
    # unknown length are as short as a short finished one, or as long as a long one.
    low: float | None = None
    high: float | None = None


def pace(counts: SessionCounts, active_seconds: float | None) -> Pace:
    worked = counts.done + counts.failed  # skipped items took no time
    if not worked or not active_seconds:
        return Pace(None, None)
    minutes = max(active_seconds, 1.0) / 60
    audio = counts.audio_seconds_transcribed / 60
    return Pace(worked / minutes, audio / minutes if audio else None)


def time_left(
    counts: SessionCounts, rates: Pace, finished_lengths: Sequence[float] = ()
) -> TimeLeft:
    items_left = counts.queued + counts.running
    if not items_left:
        return TimeLeft(0.0, "")
    if rates.audio_minutes_per_minute and not counts.unknown_lengths_left:
        audio_left = max(counts.audio_seconds_total - counts.audio_seconds_done, 0.0)
        return TimeLeft(audio_left / rates.audio_minutes_per_minute, "audio")
    if rates.items_per_minute:
        unfinished = max(items_left - counts.running_progress, 0.0)  # half done: half left
        seconds = unfinished / rates.items_per_minute * 60
        spread = _audio_range(counts, rates, finished_lengths)
        if spread is None:
            return TimeLeft(seconds, "items")
        # The item count's figure stays inside the range it is shown with.
        return TimeLeft(seconds, "items", min(spread[0], seconds), max(spread[1], seconds))
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


def _audio_range(
    counts: SessionCounts, rates: Pace, finished_lengths: Sequence[float]
) -> tuple[float, float] | None:
    """Audio left over the audio pace, the unknown lengths taken as the lower and the upper
    quartile of the lengths finished so far; None without a pace or two finished lengths."""
    lengths = [length for length in finished_lengths if length > 0]
    if not rates.audio_minutes_per_minute or len(lengths) < 2:
        return None
    low_length, _, high_length = statistics.quantiles(lengths, n=4, method="inclusive")
    known_left = max(counts.audio_seconds_total - counts.audio_seconds_done, 0.0)
    unknown = counts.unknown_lengths_left
    pace_per_second = rates.audio_minutes_per_minute  # audio seconds per second, the same
    return (
        (known_left + unknown * low_length) / pace_per_second,
        (known_left + unknown * high_length) / pace_per_second,
    )


def clock_time(epoch: float) -> str:
    """A moment as the user's clock shows it: HH:MM today, with the date on another day."""
    moment = datetime.fromtimestamp(epoch).astimezone()
    if moment.date() == datetime.now().astimezone().date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")
