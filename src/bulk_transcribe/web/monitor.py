"""The live view of one session: every panel redrawn from the store about once a second."""

from __future__ import annotations

import streamlit as st

from bulk_transcribe.store import Event, Store
from bulk_transcribe.web.controls import (
    follow_parallel_choice,
    render_controls,
    render_status_line,
    run_state,
)
from bulk_transcribe.web.errors_panel import render_errors_panel
from bulk_transcribe.web.global_progress import render_global_progress, summarise
from bulk_transcribe.web.now_processing import in_flight, render_now_processing
from bulk_transcribe.web.page import AppContext
from bulk_transcribe.web.results import render_results
from bulk_transcribe.web.status_table import render_status_table

REFRESH_SECONDS = 1.0
EVENTS_KEPT = 2000
_EVENTS_KEY = "events_cache"


def render_monitor(ctx: AppContext, session_id: str) -> None:
    """Live while someone works on the session, a still view otherwise."""
    session = ctx.store.find_session(session_id)
    if session is None:
        st.warning(f"No session {session_id} in {ctx.store.path}.", icon=":material/search_off:")
        return
    state = run_state(session, ctx.store.items(session.id), ctx.jobs)
    if state.active:
        _live_monitor(ctx, session.id)
    else:
        _still_monitor(ctx, session.id)


@st.fragment(run_every=REFRESH_SECONDS)
def _live_monitor(ctx: AppContext, session_id: str) -> None:
    if not _draw(ctx, session_id):
        st.rerun()  # the run ended: redraw once as a still view that stops polling


@st.fragment
def _still_monitor(ctx: AppContext, session_id: str) -> None:
    if _draw(ctx, session_id):
        st.rerun()  # resumed (here or from the CLI): switch to the live view


def _draw(ctx: AppContext, session_id: str) -> bool:
    """Every panel from one read of the store; returns whether the session is active."""
    store = ctx.store
    session = store.get_session(session_id)
    items = store.items(session_id)
    counts = store.counts(session_id)
    events = _events(store, session_id)
    state = run_state(session, items, ctx.jobs)
    follow_parallel_choice(store, session_id, state.active)

    render_status_line(session, state)
    render_controls(store, ctx.jobs, session, state, counts.failed, ctx.settings)
    summary = summarise(
        session,
        counts,
        items,
        store.metrics(session_id),
        store.requested_concurrency(session_id),
        events,
    )
    with st.container(border=True, key="panel-global-progress"):
        st.markdown("##### Global progress")
        render_global_progress(summary)
    with st.container(border=True, key="panel-now-processing"):
        st.markdown(f"##### Now processing ({summary.running})")
        render_now_processing(in_flight(items))
    with st.container(border=True, key="panel-status-table"):
        st.markdown("##### Processing status")
        render_status_table(items)
    with st.container(border=True, key="panel-errors"):
        st.markdown(f"##### Errors ({counts.failed})")
        render_errors_panel(items, events)
    with st.container(border=True, key="panel-results"):
        st.markdown("##### Results")
        render_results(session, items)
    return state.active


def _events(store: Store, session_id: str) -> list[Event]:
    """New events since the last refresh, appended to this tab's copy (kept bounded)."""
    cache: dict[str, list[Event]] = st.session_state.setdefault(_EVENTS_KEY, {})
    known = cache.get(session_id, [])
    after = known[-1].id if known else 0
    while True:
        fresh = store.events(session_id, after_id=after)
        if not fresh:
            break
        known = [*known, *fresh][-EVENTS_KEPT:]
        after = fresh[-1].id
    cache[session_id] = known
    return known
