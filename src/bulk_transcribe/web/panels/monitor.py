"""The live view of one session: every panel redrawn from the store about once a second.

A session nobody works on is drawn once and then only watched: a cheap check every few
seconds notices when it is resumed or retried anywhere (another tab, the CLI) and turns the
view live again.
"""

from __future__ import annotations

import streamlit as st

from bulk_transcribe.store import Event, Store
from bulk_transcribe.web.pages.frame import AppContext
from bulk_transcribe.web.panels.controls import (
    follow_parallel_choice,
    render_controls,
    render_status_line,
    retryable_failures,
    run_state,
)
from bulk_transcribe.web.panels.errors_panel import render_errors_panel
from bulk_transcribe.web.panels.global_progress import render_global_progress, summarise
from bulk_transcribe.web.panels.now_processing import (
    in_flight,
    render_now_processing,
    waiting_elsewhere,
)
from bulk_transcribe.web.panels.results import render_results
from bulk_transcribe.web.panels.status_table import render_status_table

REFRESH_SECONDS = 1.0
WATCH_SECONDS = 2.0  # how often a still view checks whether the session came back to life
EVENTS_KEPT = 2000
_EVENTS_KEY = "events_cache"
_TABLE_DRAWN_KEY = "status_table_drawn"  # sessions whose table this tab has drawn


def session_is_active(ctx: AppContext, session_id: str) -> bool | None:
    """Whether someone works on the session now; None if there is no such session."""
    session = ctx.store.find_session(session_id)
    if session is None:
        return None
    return run_state(session, ctx.runs).active


# On a phone the session's state and progress come first, before the page's title, the live
# settings and the buttons (which stack one per line there). Flex order: each panel sits in a
# layout wrapper, and the monitor's fragment in one of its own, among the page's blocks.
_NARROW_CSS = """
<style>
@media (max-width: 640px) {
  [data-testid="stLayoutWrapper"]:has(> .st-key-panel-status-line) { order: -2; }
  [data-testid="stLayoutWrapper"]:has(.st-key-panel-global-progress) { order: -1; }
}
</style>
"""


def render_monitor(ctx: AppContext, session_id: str) -> None:
    """Live while someone works on the session, a still view otherwise."""
    st.markdown(_NARROW_CSS, unsafe_allow_html=True)
    session = ctx.store.find_session(session_id)
    if session is None:
        st.warning(f"No session {session_id} in {ctx.store.path}.", icon=":material/search_off:")
        return
    if run_state(session, ctx.runs).active:
        _live_monitor(ctx, session.id)
    else:
        _still_monitor(ctx, session.id)
        _watch_for_life(ctx, session.id, _fingerprint(ctx, session.id))


@st.fragment(run_every=REFRESH_SECONDS)
def _live_monitor(ctx: AppContext, session_id: str) -> None:
    # A tab opening a running session draws the figures first and the status table from the
    # next refresh on: the table's grid was the heaviest part of opening the page (0.4 s of
    # about 2.2 s, benchmarks/web_monitor.py). Once drawn in a tab, it is always drawn.
    if not session_is_active(ctx, session_id):
        # The run ended: redraw once as a still view. Drawn here first, its last panels (a
        # model failure's warning and choices) showed twice until that redraw was done.
        st.rerun()
    table_drawn = st.session_state.setdefault(_TABLE_DRAWN_KEY, set())
    if not _draw(ctx, session_id, table=session_id in table_drawn):
        st.rerun()  # the run ended: redraw once as a still view
    table_drawn.add(session_id)


@st.fragment
def _still_monitor(ctx: AppContext, session_id: str) -> None:
    _draw(ctx, session_id, exact=True)  # drawn once: never from a copy read before the end


@st.fragment(run_every=WATCH_SECONDS)
def _watch_for_life(ctx: AppContext, session_id: str, seen: tuple[object, ...]) -> None:
    """Redraw the page when the session changed since it was drawn: resumed, retried or
    run elsewhere, even when this tab last saw it stopped or finished."""
    if _fingerprint(ctx, session_id) != seen:
        st.rerun()


def _fingerprint(ctx: AppContext, session_id: str) -> tuple[object, ...]:
    session = ctx.store.find_session(session_id)
    if session is None:
        return ()
    counts = ctx.store.counts(session_id)
    return (
        session.status,
        run_state(session, ctx.runs).active,
        counts.queued,
        counts.running,
        counts.done,
        counts.failed,
    )


def _draw(ctx: AppContext, session_id: str, *, exact: bool = False, table: bool = True) -> bool:
    """Every panel from one read of the store; returns whether the session is active."""
    store = ctx.store
    follow_parallel_choice(
        store, session_id, run_state(store.get_session(session_id), ctx.runs).active
    )
    view = ctx.snapshots.view(session_id, exact=exact)
    session, items, counts = view.session, view.items, view.counts
    events = _events(store, session_id)
    state = run_state(session, ctx.runs)

    with st.container(key="panel-status-line"):
        render_status_line(session, state, counts.failed)
    with st.container(key="panel-controls"):
        render_controls(store, ctx.runs, session, state, counts, retryable_failures(items))
    summary = summarise(
        session,
        counts,
        items,
        view.metrics,
        view.requested_concurrency,
        events,
        active=state.active,
    )
    with st.container(border=True, key="panel-global-progress"):
        st.markdown("##### Global progress")
        render_global_progress(summary)
    # Items a killed process left "running" are in flight nowhere (the table says so).
    cards = in_flight(view.running) if state.active else []
    waiting = waiting_elsewhere(items, events) if state.active else []
    with st.container(border=True, key="panel-now-processing"):
        st.markdown(f"##### Now processing ({summary.running})")
        render_now_processing(cards, waiting)
    with st.container(border=True, key="panel-status-table"):
        st.markdown("##### Processing status")
        if table:
            render_status_table(
                items, version=(session_id, view.version), counts=counts, active=state.active
            )
        else:
            st.caption(f"Loading the table of {counts.total} items…")
    with st.container(border=True, key="panel-errors"):
        st.markdown(f"##### Errors ({counts.failed})")
        render_errors_panel(items, events, store)
    with st.container(border=True, key="panel-results"):
        st.markdown("##### Results")
        render_results(session, items, version=(session_id, view.version))
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
