"""Sessions: every session in the database; open, resume, retry failed, download or delete."""

from __future__ import annotations

import shutil

import streamlit as st

from bulk_transcribe.web.controls import (
    STATUS_BADGES,
    resume,
    retry_failed,
    run_state,
    stop,
)
from bulk_transcribe.web.page import page_setup
from bulk_transcribe.web.results import render_session_download
from bulk_transcribe.web.sessions_list import sessions_frame

ctx = page_setup("Sessions")
st.title(":material/folder_open: Sessions")

sessions = ctx.store.list_sessions()
if not sessions:
    st.info("No sessions yet: start one from **Bulk Transcribe**.", icon=":material/folder_open:")
    st.stop()

st.dataframe(sessions_frame(ctx.store, sessions), hide_index=True, width="stretch")

by_id = {s.id: s for s in sessions}
chosen = st.selectbox(
    "Session",
    list(by_id),
    format_func=lambda sid: f"{sid} · {STATUS_BADGES[by_id[sid].status][1]}",
)
session = by_id[chosen]
counts = ctx.store.counts(session.id)
state = run_state(session, ctx.store.items(session.id), ctx.jobs)

with st.container(border=True, key="session-actions"):
    st.caption(f"Folder: `{session.folder}`")
    open_col, resume_col, retry_col, stop_col = st.columns(4)
    if open_col.button("Open", icon=":material/visibility:", width="stretch", key="open"):
        st.switch_page("pages/02_Bulk_Transcribe.py", query_params={"session": session.id})
    resume_col.button(
        "Resume",
        icon=":material/play_arrow:",
        width="stretch",
        key="resume",
        disabled=state.active or not (counts.queued or counts.running),
        on_click=resume,
        args=(ctx.store, ctx.jobs, session.id, ctx.settings),
    )
    retry_col.button(
        f"Retry failed ({counts.failed})",
        icon=":material/replay:",
        width="stretch",
        key="retry",
        disabled=state.active or not counts.failed,
        on_click=retry_failed,
        args=(ctx.store, ctx.jobs, session.id, ctx.settings),
    )
    stop_col.button(
        "Stop",
        icon=":material/pause:",
        width="stretch",
        key="stop",
        disabled=not state.active,
        on_click=stop,
        args=(ctx.store, session.id),
    )
    render_session_download(session, key="sessions-zip")

with st.expander("Delete this session", icon=":material/delete:"):
    also_files = st.checkbox(f"Also delete its folder {session.folder}", key="delete-files")
    confirmed = st.checkbox("Yes, delete it; this cannot be undone", key="delete-confirm")
    if st.button("Delete", type="primary", disabled=not confirmed or state.active, key="delete"):
        ctx.store.delete_session(session.id)
        if also_files:
            shutil.rmtree(session.folder, ignore_errors=True)
        st.toast(f"Deleted session {session.id}.", icon=":material/delete:")
        st.rerun()
    if state.active:
        st.caption("Stop the session before deleting it.")
