"""The Processing status table: one row per item, running ones first, searchable, in pages.

Thousands of rows are filtered and paged here on the server, so every refresh sends one page
of rows to each tab, not the whole session.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from bulk_transcribe import service
from bulk_transcribe.models import Item, ItemStatus, SessionCounts
from bulk_transcribe.plurals import counted
from bulk_transcribe.web.formatting import clock
from bulk_transcribe.web.wording import error_kind_label

# What a user reads first comes first: on a phone only the first columns fit the screen.
COLUMNS = [
    "Status",
    "Title",
    "Error",
    "Progress",
    "#",
    "Stage",
    "Duration",
    "Attempts",
    "Source",
    "Method",
]
STATUS_ICONS = {
    ItemStatus.QUEUED: ":material/hourglass_empty:",
    ItemStatus.RUNNING: ":material/sync:",
    ItemStatus.DONE: ":material/check_circle:",
    ItemStatus.FAILED: ":material/error:",
    ItemStatus.SKIPPED: ":material/skip_next:",
}
# Running items first (what a user watches), then failures, then the queue, then the rest.
_ORDER = {
    ItemStatus.RUNNING: 0,
    ItemStatus.FAILED: 1,
    ItemStatus.QUEUED: 2,
    ItemStatus.DONE: 3,
    ItemStatus.SKIPPED: 3,
}
RUNNING_FIRST = "Running first"
# Sorting happens here, over every matching row, before the rows are cut into pages (the
# grid's own header sort reorders only the page it shows).
SORTS = {
    RUNNING_FIRST: lambda item: (_ORDER[item.status], item.position),
    "Queue order": lambda item: item.position,
    "Title": lambda item: (item.display_title.casefold(), item.position),
    "Longest first": lambda item: (-(item.duration or 0.0), item.position),
    "Most attempts": lambda item: (-item.attempts, item.position),
    "Error": lambda item: (not item.error_kind, _error(item).casefold(), item.position),
}
SORT_KEY = "status_sort"
FILTER_KEY = "status_filter"
SEARCH_KEY = "status_search"
PAGE_KEY = "status_page"
PAGE_SIZE = 100


def visible_items(
    items: list[Item],
    statuses: set[ItemStatus] | None = None,
    search: str = "",
    sort: str = RUNNING_FIRST,
) -> list[Item]:
    """The rows to show: chosen statuses, matching the search, in the chosen order (running
    first, then by queue, unless asked otherwise)."""
    needle = search.strip().casefold()
    chosen = [
        item
        for item in items
        if (statuses is None or item.status in statuses)
        and (not needle or needle in _haystack(item))
    ]
    return sorted(chosen, key=SORTS.get(sort, SORTS[RUNNING_FIRST]))


def items_frame(items: list[Item], active: bool = True) -> pd.DataFrame:
    """One row per item, indexed by item id so a refresh replaces rows in place. `active`:
    whether a process runs the session (else its items in flight read as interrupted)."""
    rows = [
        (
            item.id,
            service.item_status_text(item, active),
            item.display_title,
            _error(item),
            _progress(item),
            item.position,
            item.stage.value,
            clock(item.duration),
            item.attempts,
            item.source,
            item.method or "",
        )
        for item in items
    ]
    return pd.DataFrame(rows, columns=["id", *COLUMNS]).set_index("id")


def status_options(items: list[Item]) -> dict[ItemStatus, int]:
    counts = Counter(item.status for item in items)
    return {status: counts.get(status, 0) for status in ItemStatus}


# Frames of pages recently drawn, keyed by the session's version and the view's choices:
# tabs showing the same page of the same session build it once.
_FRAMES: dict[tuple[object, ...], tuple[pd.DataFrame, int]] = {}
_FRAMES_KEPT = 32


def _page_frame(
    items: list[Item],
    statuses: set[ItemStatus] | None,
    search: str,
    page: int,
    version: tuple[object, ...] | None,
    sort: str = RUNNING_FIRST,
    active: bool = True,
) -> tuple[pd.DataFrame, int]:
    """The rows of one page as a frame, and how many rows match in all."""
    key = (version, tuple(sorted(statuses or ())), search, page, sort, active) if version else None
    if key is not None and key in _FRAMES:
        return _FRAMES[key]
    shown = visible_items(items, statuses, search, sort)
    page_items = shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    result = (items_frame(page_items, active), len(shown))
    if key is not None:
        if len(_FRAMES) >= _FRAMES_KEPT:
            _FRAMES.pop(next(iter(_FRAMES)))
        _FRAMES[key] = result
    return result


def _pill_label(status: ItemStatus, active: bool, count: int) -> str:
    """Items left "running" by a process that is gone are interrupted, as their rows say."""
    interrupted = status is ItemStatus.RUNNING and not active and count > 0
    return "interrupted" if interrupted else status.value


def render_status_table(
    items: list[Item],
    version: tuple[object, ...] | None = None,
    counts: SessionCounts | None = None,
    active: bool = True,
) -> None:
    """`version` identifies this state of the items (e.g. session id and change count); with
    it, pages are shared between tabs instead of rebuilt by each. `counts`, when given,
    spares counting the items again. `active`: whether a process runs the session."""
    options = (
        {status: getattr(counts, status.value) for status in ItemStatus}
        if counts is not None
        else status_options(items)
    )
    # The five pills get a row of their own: beside the search box the last one was cut off
    # on a laptop's screen, and more so once the counts run to thousands.
    chosen = st.pills(
        "Filter by status",
        list(options),
        selection_mode="multi",
        key=FILTER_KEY,
        format_func=lambda status: (
            f"{STATUS_ICONS[status]} {_pill_label(status, active, options[status])} "
            f"({options[status]:,})"
        ),
        help="Show only items with these statuses; none selected shows every item.",
    )
    search_col, sort_col = st.columns([3, 1])
    search = search_col.text_input(
        "Search",
        key=SEARCH_KEY,
        placeholder="Title, link or error text",
        help="Shows the items whose title, link or error contains this text.",
    )
    sort = sort_col.selectbox(
        "Sort",
        list(SORTS),
        key=SORT_KEY,
        help="Orders every row of the session, across all pages.",
    )
    statuses = set(chosen) if chosen else None
    page = int(st.session_state.get(PAGE_KEY, 1))
    frame, matching = _page_frame(items, statuses, search, page, version, sort, active)
    pages = max(1, -(-matching // PAGE_SIZE))
    if page > pages:  # fewer rows match now: show the last page there is
        page = pages
        st.session_state[PAGE_KEY] = page
        frame, matching = _page_frame(items, statuses, search, page, version, sort, active)
    if pages > 1:
        page_col, _ = st.columns([1, 3])
        chosen_page = int(
            page_col.number_input(
                f"Page (of {pages}, {PAGE_SIZE} rows each)",
                min_value=1,
                max_value=pages,
                step=1,
                key=PAGE_KEY,
            )
        )
        if chosen_page != page:
            page = chosen_page
            frame, matching = _page_frame(items, statuses, search, page, version, sort, active)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(frame), 1), 560),
        column_config={
            "Status": st.column_config.TextColumn(width=75),
            "Title": st.column_config.TextColumn(width=150),
            "Error": st.column_config.TextColumn(width=240),
            "#": st.column_config.NumberColumn(width=50),
            "Stage": st.column_config.TextColumn(width=150),
            "Progress": st.column_config.ProgressColumn(
                min_value=0, max_value=100, format="%.0f %%", width=90
            ),
            "Duration": st.column_config.TextColumn(width=70),
            "Attempts": st.column_config.NumberColumn(width=70),
            "Source": st.column_config.TextColumn(width=260),
            "Method": st.column_config.TextColumn(width=110),
        },
    )
    first = (page - 1) * PAGE_SIZE + 1 if len(frame) else 0
    st.caption(
        f"Rows {first}–{first + len(frame) - 1 if len(frame) else 0} of {matching} shown "
        f"({counted(len(items), 'item')} in the session) · order: {sort}."
    )


def _progress(item: Item) -> float | None:
    """None while a running item has no measurable progress yet: the cell stays empty
    rather than claiming 0 %; the Now processing card shows its elapsed time instead."""
    if item.status is ItemStatus.RUNNING and item.progress <= 0:
        return None
    return round(item.progress * 100, 1)


def _error(item: Item) -> str:
    if not (item.error_kind or item.error_message):
        return ""
    label = error_kind_label(item.error_kind)
    message = (item.error_message or "").strip()
    if not message or message.casefold() in label.casefold():  # not "Cancelled: cancelled"
        return label
    return f"{label}: {message}"


def _haystack(item: Item) -> str:
    return " ".join(
        part for part in (item.title, item.source, item.error_message, item.error_kind) if part
    ).casefold()
