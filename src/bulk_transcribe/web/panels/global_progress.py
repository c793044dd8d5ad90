"""The Global progress panel: overall bar, counts, throughput, ETA, rate limit, concurrency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from bulk_transcribe.figures import TimeLeft, pace, time_left
from bulk_transcribe.models import Item, ItemStatus, Session, SessionCounts
from bulk_transcribe.store import Event
from bulk_transcribe.web.formatting import eta, parse_time, rate
from bulk_transcribe.web.wording import concurrency_reason


@dataclass(frozen=True)
class Concurrency:
    configured: int  # what the session was started with
    current: int  # what the runner reports it runs with now
    requested: int | None  # what a view asked for since
    fell_back: bool  # the runner went sequential on its own (rate limits, pressure)
    made_sequential: bool  # someone asked for one item at a time
    reason: str | None  # why it is sequential now


@dataclass(frozen=True)
class ProgressSummary:
    fraction: float  # 0..1, running items counted by their progress
    total: int
    done: int
    failed: int
    skipped: int
    running: int
    remaining: int
    items_per_minute: float | None  # over the time the session was actually running
    audio_minutes_per_minute: float | None
    eta_seconds: float | None
    eta_basis: str  # "audio", "items" or "" when there is no estimate
    eta_low: float | None  # a range on the items basis, where finished lengths allow it
    eta_high: float | None
    paused: bool  # work is left but nobody works on it
    active_seconds: float | None
    rpm_limit: int | None
    requests_last_60s: int | None
    utilisation: float | None
    count_429: int
    waiting_for_limiter: int
    concurrency: Concurrency


def summarise(
    session: Session,
    counts: SessionCounts,
    items: list[Item],
    metrics: dict[str, Any],
    requested_concurrency: int | None,
    events: list[Event],
    now: datetime | None = None,
    *,
    active: bool = True,
) -> ProgressSummary:
    """Everything the panel shows, from the store.

    Throughput and time left follow the one rule of `bulk_transcribe.figures`.
    """
    now = now or datetime.now(UTC)
    in_flight = sum(i.progress for i in items if i.status is ItemStatus.RUNNING)
    fraction = (counts.finished + in_flight) / counts.total if counts.total else 0.0
    remaining = counts.queued + counts.running
    active_seconds = metrics.get("wall_seconds_total") or _active_seconds(items, now)
    rates = pace(counts, active_seconds)
    finished_lengths = [
        i.duration for i in items if i.status is ItemStatus.DONE and i.duration is not None
    ]
    left = (
        time_left(counts, rates, finished_lengths) if remaining and active else TimeLeft(None, "")
    )
    rpm_limit = metrics.get("rpm_limit", session.settings.get("rpm"))
    used = metrics.get("requests_last_60s")
    utilisation = metrics.get("rate_limit_utilisation")
    if utilisation is None and used is not None and rpm_limit:
        utilisation = used / rpm_limit
    return ProgressSummary(
        fraction=min(max(fraction, 0.0), 1.0),
        total=counts.total,
        done=counts.done,
        failed=counts.failed,
        skipped=counts.skipped,
        running=counts.running if active else 0,  # a killed run's items are in flight nowhere
        remaining=remaining,
        items_per_minute=rates.items_per_minute,
        audio_minutes_per_minute=rates.audio_minutes_per_minute,
        eta_seconds=left.seconds if remaining else 0.0,
        eta_basis=left.basis,
        eta_low=left.low,
        eta_high=left.high,
        paused=bool(remaining) and not active,
        active_seconds=active_seconds,
        rpm_limit=rpm_limit if active else None,
        requests_last_60s=used,
        utilisation=utilisation,
        count_429=int(metrics.get("count_429") or 0),
        waiting_for_limiter=int(metrics.get("waiting_for_limiter") or 0),
        concurrency=concurrency_state(session, metrics, requested_concurrency, events),
    )


def concurrency_state(
    session: Session,
    metrics: dict[str, Any],
    requested: int | None,
    events: list[Event],
) -> Concurrency:
    """How many items run at once, and whether (and why) the session is sequential now."""
    configured = int(session.settings.get("concurrency") or 1)
    current = int(metrics.get("current_concurrency") or requested or configured)
    fell_back = bool(metrics.get("fallback_sequential"))
    made_sequential = not fell_back and configured > 1 and 1 in (current, requested)
    last_change = next((e for e in reversed(events) if e.kind == "concurrency"), None)
    reason = None
    if fell_back:
        reason = metrics.get("fallback_reason") or (last_change.message if last_change else None)
    elif made_sequential:
        reason = last_change.message if last_change else "parallel processing was turned off"
    return Concurrency(
        configured=configured,
        current=current,
        requested=requested,
        fell_back=fell_back,
        made_sequential=made_sequential,
        reason=reason,
    )


def _active_seconds(items: list[Item], now: datetime) -> float | None:
    """Time some item was in work, gaps between runs left out (when the runner gave none)."""
    spans = []
    for item in items:
        start = parse_time(item.started_at)
        if start is None:
            continue
        end = now if item.status is ItemStatus.RUNNING else parse_time(item.finished_at)
        if end is not None and end > start:
            spans.append((start, end))
    total, reach = 0.0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return total or None


def render_global_progress(summary: ProgressSummary) -> None:
    percent = round(summary.fraction * 100)
    st.progress(
        summary.fraction,
        text=f"**{percent} %** · {summary.done + summary.failed + summary.skipped} of "
        f"{summary.total} finished",
    )
    counts = st.columns(4)
    counts[0].metric("Done", summary.done)
    counts[1].metric("Failed", summary.failed)
    counts[2].metric("Skipped", summary.skipped)
    counts[3].metric("Remaining", summary.remaining)
    speed = st.columns(4)
    speed[0].metric(
        "Items per minute",
        rate(summary.items_per_minute, "").strip(),
        help="Finished items per minute of running time (pauses between runs left out).",
    )
    speed[1].metric(
        "Audio minutes per minute",
        rate(summary.audio_minutes_per_minute, "").strip(),
        help="Minutes of audio transcribed per minute of running time.",
    )
    speed[2].metric("ETA", _eta_text(summary), help=_eta_help(summary))
    speed[3].metric(
        "Concurrency",
        summary.concurrency.current,
        help=f"Started with {summary.concurrency.configured}"
        + (
            f"; {summary.concurrency.requested} requested since"
            if summary.concurrency.requested
            else ""
        ),
    )
    _render_rate_limit(summary)
    _render_concurrency(summary.concurrency, summary.running)


def _eta_text(summary: ProgressSummary) -> str:
    if not summary.remaining:
        return "—"
    if summary.paused:
        return "paused"
    if summary.eta_low is not None and summary.eta_high is not None:
        low, high = eta(summary.eta_low), eta(summary.eta_high)
        if low != high:  # a range while some lengths are unknown
            return f"{low}–{high.lstrip('~')}"
    return eta(summary.eta_seconds) if summary.eta_seconds is not None else "estimating…"


def _eta_help(summary: ProgressSummary) -> str:
    if summary.paused:
        return "Nothing runs now: resume the session to carry on."
    if summary.eta_basis == "audio":
        return "From the audio left and the audio transcribed per minute so far."
    if summary.eta_basis == "items":
        return (
            "From the items left and the items finished per minute so far (some items' "
            "length is not known until they are fetched); a range when the lengths finished "
            "so far differ: the unknown ones taken as short or as long as those. By audio "
            "once every length is known."
        )
    return "Shown once the first items have finished."


def _render_rate_limit(summary: ProgressSummary) -> None:
    if summary.rpm_limit is None:
        st.caption("Rate limit: none for this engine.")
        return
    used = summary.requests_last_60s
    utilisation = summary.utilisation or 0.0
    st.progress(
        min(utilisation, 1.0),
        text=f"Rate limit: {used if used is not None else '—'} of {summary.rpm_limit} requests "
        f"in the last minute ({utilisation:.0%})"
        + (f" · {summary.count_429} × HTTP 429" if summary.count_429 else "")
        + (
            f" · {summary.waiting_for_limiter} waiting for the limiter"
            if summary.waiting_for_limiter
            else ""
        ),
    )


def _render_concurrency(concurrency: Concurrency, running: int) -> None:
    reason = concurrency_reason(concurrency.reason)
    if concurrency.fell_back:
        st.warning(
            f"**Running one item at a time** (started with {concurrency.configured} at once)"
            + (f": {reason}" if reason else "."),
            icon=":material/low_priority:",
        )
    elif concurrency.made_sequential:
        st.info(
            "**Sequential processing now** (one item at a time, started with "
            f"{concurrency.configured} at once)" + (f": {reason}" if reason else "."),
            icon=":material/low_priority:",
        )
    elif concurrency.current > 1:
        st.caption(
            f"Parallel processing: up to {concurrency.current} items at once, {running} running."
        )
    else:
        st.caption(f"Sequential processing: one item at a time, {running} running.")
