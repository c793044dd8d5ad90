"""The Errors panel: failures in plain words, retryable apart from permanent, with the links
to copy, rate-limit events over time and the session's log."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from bulk_transcribe.models import Item, ItemStatus
from bulk_transcribe.plurals import counted
from bulk_transcribe.store import Event, Store
from bulk_transcribe.web.formatting import parse_time
from bulk_transcribe.web.wording import error_kind_label, is_retryable

RATE_LIMIT_KINDS = ("rate_limit",)
LOG_KINDS = (
    "concurrency",
    "rate_limit",
    "retry",
    "item_failed",
    "invalid_input",
    "error",
    "resume",
    "expanded",
    "archive",
    "waiting",  # for another session transcribing the same item
)
OPEN_KINDS = 3  # the largest groups start open: a user sees what went wrong at once
ROWS_PER_KIND = 200


@dataclass(frozen=True)
class FailureSplit:
    retryable: list[Item]  # may work if tried again (network, timeouts, busy servers)
    permanent: list[Item]  # will fail again until something changes (gone, private, bad key)


def failures_by_kind(items: list[Item]) -> dict[str, list[Item]]:
    """Failed items grouped by error kind, the largest group first."""
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.status is ItemStatus.FAILED:
            groups[item.error_kind or "unknown"].append(item)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def split_failures(items: list[Item]) -> FailureSplit:
    failed = [item for item in items if item.status is ItemStatus.FAILED]
    retryable = [i for i in failed if is_retryable(i.error_kind, i.error_message)]
    permanent = [i for i in failed if not is_retryable(i.error_kind, i.error_message)]
    return FailureSplit(retryable=retryable, permanent=permanent)


def rate_limit_timeline(events: list[Event]) -> pd.DataFrame:
    """Rate-limit events counted per minute, for a chart."""
    stamps = [parse_time(e.at) for e in events if e.kind in RATE_LIMIT_KINDS]
    if not stamps:
        return pd.DataFrame(columns=["minute", "events"])
    minutes = pd.Series([s.replace(second=0, microsecond=0) for s in stamps if s])
    per_minute = minutes.value_counts().sort_index()
    return pd.DataFrame({"minute": per_minute.index, "events": per_minute.to_numpy()})


def events_frame(events: list[Event]) -> pd.DataFrame:
    rows = [(e.at.replace("T", " ")[:19], e.kind, e.message) for e in events if e.kind in LOG_KINDS]
    return pd.DataFrame(list(reversed(rows)), columns=["When (UTC)", "Kind", "Message"])


def session_log(events: list[Event]) -> str:
    """Every event as one line of text, oldest first, to copy into a bug report or a note."""
    return "\n".join(f"{e.at.replace('T', ' ')[:19]}  {e.kind:<14} {e.message}" for e in events)


def render_errors_panel(items: list[Item], events: list[Event], store: Store | None = None) -> None:
    groups = failures_by_kind(items)
    if not groups:
        st.caption("No failed items.")
    for index, (kind, failed) in enumerate(groups.items()):
        with st.expander(
            f":material/error: {error_kind_label(kind)} — {counted(len(failed), 'item')}",
            expanded=index < OPEN_KINDS,
        ):
            st.dataframe(
                pd.DataFrame(
                    [(i.position, i.display_title, i.error_message or "") for i in failed][
                        :ROWS_PER_KIND
                    ],
                    columns=["#", "Title", "Reason"],
                ),
                hide_index=True,
                width="stretch",
                column_config={"#": st.column_config.NumberColumn(width=50)},
            )
            if len(failed) > ROWS_PER_KIND:
                st.caption(f"…and {len(failed) - ROWS_PER_KIND} more in the status table.")
    if groups:
        _render_copyable_lists(split_failures(items))
        if store is not None:
            _render_attempts(store, [i for kind in groups.values() for i in kind])
    timeline = rate_limit_timeline(events)
    if not timeline.empty:
        st.markdown("**Rate-limit events per minute**")
        st.bar_chart(timeline, x="minute", y="events", height=180)
    log = events_frame(events)
    if not log.empty:
        with st.expander(f"Event log ({len(log)})"):
            st.dataframe(log, hide_index=True, width="stretch")
    if events:
        with st.expander("Session log (to copy)", icon=":material/content_copy:"):
            st.code(session_log(events), language=None, height=300)


def _render_copyable_lists(split: FailureSplit) -> None:
    retry_col, permanent_col = st.columns(2)
    with retry_col:
        st.markdown(f"**Worth retrying ({len(split.retryable)})**")
        st.caption("Network trouble, time limits, busy servers: **Retry retryable** may fix these.")
        if split.retryable:
            st.code("\n".join(i.source for i in split.retryable), language=None, height=160)
    with permanent_col:
        st.markdown(f"**Permanent ({len(split.permanent)})**")
        st.caption("Removed, private or unreadable: these fail again until the link changes.")
        if split.permanent:
            st.code("\n".join(i.source for i in split.permanent), language=None, height=160)


def attempts_frame(store: Store, item: Item) -> pd.DataFrame:
    """Every attempt of an item with what the provider or server answered (keys and
    passwords were scrubbed from those answers before they were stored)."""
    rows = [
        (
            attempt["number"],
            (attempt["started_at"] or "").replace("T", " ")[:19],
            attempt["status"],
            error_kind_label(attempt["error_kind"]) if attempt["error_kind"] else "",
            attempt["error_message"] or "",
            attempt["provider_request_id"] or "",
        )
        for attempt in store.attempts(item.id)
    ]
    return pd.DataFrame(
        rows, columns=["Attempt", "Started (UTC)", "Result", "Kind", "Answer", "Request id"]
    )


def _render_attempts(store: Store, failed: list[Item]) -> None:
    with st.expander("What the server or provider answered, attempt by attempt"):
        by_id = {item.id: item for item in failed[:ROWS_PER_KIND]}
        chosen = st.selectbox(
            "Failed item",
            list(by_id),
            key="errors_attempts_item",
            format_func=lambda item_id: (
                f"#{by_id[item_id].position} · {by_id[item_id].display_title}"
            ),
        )
        if chosen is not None:
            st.dataframe(attempts_frame(store, by_id[chosen]), hide_index=True, width="stretch")


def _label(item: Item) -> str:
    return f"#{item.position} · {item.display_title}"
