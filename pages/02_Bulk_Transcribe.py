"""Bulk Transcribe: give it links, pick settings, start, and watch every item live."""

from __future__ import annotations

import streamlit as st

from bulk_transcribe.web.controls import start_new_session
from bulk_transcribe.web.input_panel import render_input_panel
from bulk_transcribe.web.monitor import render_monitor
from bulk_transcribe.web.page import page_setup
from bulk_transcribe.web.settings_panel import build_settings, render_settings_panel, secrets

SESSION_PARAM = "session"

ctx = page_setup("Bulk Transcribe")
watched = st.query_params.get(SESSION_PARAM)


st.title(":material/graphic_eq: Bulk Transcribe")
st.caption("YouTube videos, podcasts and media files into transcripts, many at a time.")

with st.container(border=True, key="section-input"):
    st.subheader("1) Input URLs")
    ingested = render_input_panel()

with st.container(border=True, key="section-settings"):
    st.subheader("2) Settings")
    # While a session runs, the monitor passes toggle and slider changes on to it.
    choices = render_settings_panel(ctx.settings.out_dir)

with st.container(border=True, key="section-run"):
    st.subheader("3) Run")
    count = len(ingested.items) if ingested else 0
    start_col, new_col, _ = st.columns([1.4, 1, 3])
    start = start_col.button(
        f"Start transcribing {count} item(s)",
        icon=":material/play_arrow:",
        type="primary",
        disabled=not count or not choices.formats,
        key="start",
        width="stretch",
    )
    if watched and new_col.button(
        "New batch", icon=":material/add:", key="new-batch", width="stretch"
    ):
        del st.query_params[SESSION_PARAM]
        st.rerun()
    if not choices.formats:
        st.caption("Choose at least one output format.")
    if start and ingested:
        try:
            settings = build_settings(choices, ctx.settings, secrets())
        except ValueError as exc:
            st.error(f"**Settings are not valid:** {exc}", icon=":material/block:")
        else:
            session = start_new_session(ctx.store, ctx.jobs, settings, ingested)
            st.query_params[SESSION_PARAM] = session.id
            st.rerun()
    if watched:
        render_monitor(ctx, watched)
