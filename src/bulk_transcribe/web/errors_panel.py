"""The Errors panel: failed items grouped by kind, rate-limit events over time, retry."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import streamlit as st

from bulk_transcribe.models import Item, ItemStatus
from bulk_transcribe.store import Event
from bulk_transcribe.web.formatting import parse_time

RATE_LIMIT_KINDS = ("rate_limit",)
LOG_KINDS = (
    "concurrency",
    "rate_limit",
    "retry",
    "item_failed",
    "invalid_input",
    "error",
    "resume",
)


def failures_by_kind(items: list[Item]) -> dict[str, list[Item]]:
    """Failed items grouped by error kind, the largest group first."""
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.status is ItemStatus.FAILED:
            groups[item.error_kind or "unknown"].append(item)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def rate_limit_timeline(events: list[Event]) -> pd.DataFrame:
    """Rate-limit events counted per minute, for a chart."""
    stamps = [parse_time(e.at) for e in events if e.kind in RATE_LIMIT_KINDS]
    if not stamps:
        return pd.DataFrame(columns=["minute", "events"])
    minutes = pd.Series([s.replace(second=0, microsecond=0) for s in stamps if s])
    counted = minutes.value_counts().sort_index()
    return pd.DataFrame({"minute": counted.index, "events": counted.to_numpy()})


def events_frame(events: list[Event]) -> pd.DataFrame:
    rows = [(e.at.replace("T", " ")[:19], e.kind, e.message) for e in events if e.kind in LOG_KINDS]
    return pd.DataFrame(list(reversed(rows)), columns=["When (UTC)", "Kind", "Message"])


def render_errors_panel(items: list[Item], events: list[Event]) -> None:
    groups = failures_by_kind(items)
    if not groups:
        st.caption("No failed items.")
    for kind, failed in groups.items():
        with st.expander(
            f":material/error: {kind} — {len(failed)} item(s)", expanded=len(groups) == 1
        ):
            st.dataframe(
                pd.DataFrame(
                    [(i.position, i.display_title, i.error_message or "") for i in failed],
                    columns=["#", "Title", "Reason"],
                ),
                hide_index=True,
                width="stretch",
            )
    timeline = rate_limit_timeline(events)
    if not timeline.empty:
        st.markdown("**Rate-limit events per minute**")
        st.bar_chart(timeline, x="minute", y="events", height=180)
    log = events_frame(events)
    if not log.empty:
        with st.expander(f"Event log ({len(log)})"):
            st.dataframe(log, hide_index=True, width="stretch")
