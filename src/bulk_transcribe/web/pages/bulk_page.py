"""The Bulk Transcribe page: the watched session's monitor at the top, then a new batch.

Every session has its own address (`?session=ID`). While the watched session runs, the
input and settings fold away: only the parallel switch and slider act on the running
session, so they stay out, next to it, and say so.
"""

from __future__ import annotations

import streamlit as st

from bulk_transcribe import service
from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.plurals import counted
from bulk_transcribe.service.inputs import IngestResult
from bulk_transcribe.web.pages.frame import AppContext, page_setup
from bulk_transcribe.web.panels.cloud_setup import access_message
from bulk_transcribe.web.panels.controls import follow_parallel_choice, start_once
from bulk_transcribe.web.panels.input_panel import render_input_panel
from bulk_transcribe.web.panels.link_check_panel import render_link_check
from bulk_transcribe.web.panels.monitor import render_monitor, session_is_active
from bulk_transcribe.web.panels.settings_panel import (
    build_settings,
    load_preferences,
    render_parallel_controls,
    render_settings_panel,
    save_preferences,
    secrets,
)

SESSION_PARAM = "session"
_WATCHED_KEY = "watched_session"


def render() -> None:
    ctx = page_setup("Bulk Transcribe")
    watched = _watched_session(ctx)
    active = bool(watched and session_is_active(ctx, watched))

    st.title(":material/graphic_eq: Bulk Transcribe")
    if watched:
        if active:
            _render_live_settings(ctx, watched)
        render_monitor(ctx, watched)
        if st.button("New batch", icon=":material/add:", key="new-batch"):
            del st.query_params[SESSION_PARAM]
            st.session_state.pop(_WATCHED_KEY, None)
            st.rerun()
    else:
        st.caption("YouTube videos, podcasts and media files into transcripts, many at a time.")

    if active:
        # Drawn only when asked for: the folded form cost a third of a second on every
        # opening of a running session's page (benchmarks/web_monitor.py).
        if st.toggle("Start another batch (input and settings)", key="show-new-batch"):
            st.caption(
                "These settings apply to the next batch you start, not to the running "
                "session; only parallel processing and items at once (above) act on it."
            )
            _render_new_batch(ctx, live_parallel=False)
    else:
        _render_new_batch(ctx, live_parallel=True)


def _watched_session(ctx: AppContext) -> str | None:
    """The session in the address; else the one this tab watched last (until New batch),
    so leaving the page (Home, Sessions) and coming back finds the job again."""
    watched = st.query_params.get(SESSION_PARAM)
    if watched:
        st.session_state[_WATCHED_KEY] = watched
        return watched
    earlier = st.session_state.get(_WATCHED_KEY)
    if earlier and ctx.store.find_session(earlier) is not None:
        st.query_params[SESSION_PARAM] = earlier
        return earlier
    return None


def _render_live_settings(ctx: AppContext, session_id: str) -> None:
    saved = load_preferences(ctx.settings.out_dir)
    with st.container(border=True, key="section-live-settings"):
        st.markdown(
            "**Live settings** · these act on the running session at once",
            help="Turning parallel processing off makes the session sequential from the next "
            "item on; moving the slider changes how many items run at once.",
        )
        render_parallel_controls(saved)
    follow_parallel_choice(ctx.store, session_id, active=True)


def _render_new_batch(ctx: AppContext, *, live_parallel: bool) -> None:
    with st.container(border=True, key="section-input"):
        st.subheader("1) Input URLs")
        ingested = render_input_panel(
            server_files=not ctx.settings.public_addresses_only, out_dir=ctx.settings.out_dir
        )
    with st.container(border=True, key="section-settings"):
        st.subheader("2) Settings")
        choices = render_settings_panel(
            ctx.settings.out_dir, live_parallel=live_parallel, base=ctx.settings
        )
    with st.container(border=True, key="section-run"):
        st.subheader("3) Run")
        count = len(ingested.items) if ingested else 0
        start = st.button(
            f"Start transcribing {counted(count, 'item')}",
            icon=":material/play_arrow:",
            type="primary",
            disabled=not count or not choices.formats,
            key="start",
        )
        if not choices.formats:
            st.caption("Choose at least one output format.")
        render_link_check(ingested, ctx.settings)
        if start and ingested:
            shared = ctx.settings.public_addresses_only
            save_preferences(ctx.settings.out_dir, choices, shared=shared)  # the last batch's
            _start(ctx, choices, ingested)


def _start(ctx: AppContext, choices, ingested: IngestResult) -> None:
    try:
        settings = build_settings(choices, ctx.settings, secrets())
    except ValueError as exc:
        st.error(f"**Settings are not valid:** {exc}", icon=":material/block:")
        return
    if settings.engine != "local":
        with st.spinner("Trying the API key and endpoint once…"):
            check = service.providers.check_cloud_access(settings)
        if not check.ok:
            st.error(access_message(check, settings.engine), icon=":material/key_off:")
            return
    try:
        with st.spinner("Starting the job in a process of its own…"):
            session = start_once(ctx.store, ctx.runs, settings, ingested, watch=_watch)
    except TranscribeError as exc:
        st.error(f"**The job could not start:** {exc.message}", icon=":material/block:")
        return
    st.query_params[SESSION_PARAM] = session.id
    st.rerun()


def _watch(session_id: str) -> None:
    st.session_state[_WATCHED_KEY] = session_id
