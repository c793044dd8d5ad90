"""The Processing status table: exactly one row per item, updated in place, filterable."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from bulk_transcribe.models import Item, ItemStatus
from bulk_transcribe.web.formatting import clock

COLUMNS = [
    "#",
    "Title",
    "Status",
    "Stage",
    "Progress",
    "Duration",
    "Method",
    "Attempts",
    "Error kind",
    "Error",
]
STATUS_ICONS = {
    ItemStatus.QUEUED: ":material/hourglass_empty:",
    ItemStatus.RUNNING: ":material/sync:",
    ItemStatus.DONE: ":material/check_circle:",
    ItemStatus.FAILED: ":material/error:",
    ItemStatus.SKIPPED: ":material/skip_next:",
}
FILTER_KEY = "status_filter"


def items_frame(items: list[Item], statuses: set[ItemStatus] | None = None) -> pd.DataFrame:
    """One row per item in queue order, indexed by item id so a refresh replaces rows in place."""
    rows = [
        (
            item.id,
            item.position,
            item.display_title,
            item.status.value,
            item.stage.value,
            round(item.progress * 100, 1),
            clock(item.duration),
            item.method or "",
            item.attempts,
            item.error_kind or "",
            item.error_message or "",
        )
        for item in items
        if statuses is None or item.status in statuses
    ]
    frame = pd.DataFrame(rows, columns=["id", *COLUMNS])
    return frame.set_index("id")


def status_options(items: list[Item]) -> dict[ItemStatus, int]:
    counts = Counter(item.status for item in items)
    return {status: counts.get(status, 0) for status in ItemStatus}


def render_status_table(items: list[Item]) -> None:
    options = status_options(items)
    chosen = st.pills(
        "Filter by status",
        list(options),
        selection_mode="multi",
        key=FILTER_KEY,
        format_func=lambda status: f"{STATUS_ICONS[status]} {status.value} ({options[status]})",
        help="Show only items with these statuses; none selected shows every item.",
    )
    statuses = set(chosen) if chosen else None
    frame = items_frame(items, statuses)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(frame), 1), 560),
        column_config={
            "#": st.column_config.NumberColumn(width="small"),
            "Title": st.column_config.TextColumn(width="large"),
            "Progress": st.column_config.ProgressColumn(
                min_value=0, max_value=100, format="%.0f %%", width="small"
            ),
            "Attempts": st.column_config.NumberColumn(width="small"),
            "Error": st.column_config.TextColumn(width="large"),
        },
    )
    st.caption(f"{len(frame)} of {len(items)} item(s) shown.")
