"""The Sessions page: every session in the database, live; open, stop, cancel, resume, retry
failed, download or delete one."""

from __future__ import annotations

import shutil

import streamlit as st

from bulk_transcribe.plurals import counted
from bulk_transcribe.web.pages.frame import AppContext, page_setup
from bulk_transcribe.web.panels.controls import (
    cancel,
    resume,
    retry_failed,
    run_state,
    stop,
    stopped_by_model_failure,
)
from bulk_transcribe.web.panels.results import render_session_download
from bulk_transcribe.web.panels.sessions_list import sessions_frame

BULK_PAGE = "pages/02_Bulk_Transcribe.py"
REFRESH_SECONDS = 2.0


def render() -> None:
    ctx = page_setup("Sessions")
    st.title(":material/folder_open: Sessions")
    if not ctx.store.list_sessions(limit=1):
        st.info(
            "No sessions yet: start one from **Bulk Transcribe**.", icon=":material/folder_open:"
        )
        return
    _live_sessions(ctx)


@st.fragment(run_every=REFRESH_SECONDS)
def _live_sessions(ctx: AppContext) -> None:
    """Redrawn every few seconds: a session resumed, stopped or finished anywhere shows here."""
    sessions = ctx.store.list_sessions()
    frame = sessions_frame(ctx.store, sessions, ctx.runs)
    st.dataframe(frame, hide_index=True, width="stretch")
    by_id = {s.id: s for s in sessions}
    # The choice reads as the table does ("finished with 2 failed", not "completed").
    labels = dict(zip(frame["Session"], frame["Status"], strict=True))
    if st.session_state.get("sessions_choice") not in by_id:
        st.session_state.pop("sessions_choice", None)
    chosen = st.selectbox(
        "Session",
        list(by_id),
        key="sessions_choice",
        format_func=lambda sid: f"{sid} · {labels[sid]}",
    )
    session = by_id[chosen]
    counts = ctx.store.counts(session.id)
    state = run_state(session, ctx.runs)
    left = counts.queued + counts.running

    with st.container(border=True, key="session-actions"):
        st.caption(f"Folder: `{session.folder}`")
        if stopped_by_model_failure(ctx.store, session.id, state, counts):
            st.warning(
                "**A model every item needs could not be used:** Resume would load it again. "
                "**Open** the session to go on with another model.",
                icon=":material/model_training:",
            )
        # The retry button's label carries a count: the widest of the five (cut off when equal).
        columns = st.columns([1, 1, 1.6, 1, 1])
        if columns[0].button("Open", icon=":material/visibility:", width="stretch", key="open"):
            st.switch_page(BULK_PAGE, query_params={"session": session.id})
        columns[1].button(
            "Resume",
            icon=":material/play_arrow:",
            width="stretch",
            key="resume",
            disabled=state.active or not left,
            on_click=resume,
            args=(ctx.store, ctx.runs, session.id),
            help=f"{counted(left, 'item')} left to do." if left else "Nothing left to resume.",
        )
        columns[2].button(
            f"Retry all failed ({counts.failed})",
            icon=":material/replay:",
            width="stretch",
            key="retry",
            disabled=state.active or not counts.failed,
            on_click=retry_failed,
            args=(ctx.store, ctx.runs, session.id),
        )
        columns[3].button(
            "Stop",
            icon=":material/pause:",
            width="stretch",
            key="stop",
            disabled=not state.active or state.stop_requested,
            on_click=stop,
            args=(ctx.store, session.id),
            help="Finish the items already running, start nothing new.",
        )
        columns[4].button(
            "Cancel",
            icon=":material/stop:",
            width="stretch",
            key="cancel",
            disabled=not state.active,
            on_click=cancel,
            args=(ctx.store, session.id),
            help="Abort now; unfinished items stay in the queue for a later resume.",
        )
        render_session_download(session, key="sessions-zip")

    with st.expander("Delete this session", icon=":material/delete:"):
        # Keyed by session: a confirmation given for one session never arms Delete for the
        # next one chosen above.
        also_files = st.checkbox(
            f"Also delete its folder {session.folder}", key=f"delete-files-{session.id}"
        )
        confirmed = st.checkbox(
            "Yes, delete it; this cannot be undone", key=f"delete-confirm-{session.id}"
        )
        if st.button(
            "Delete", type="primary", disabled=not confirmed or state.active, key="delete"
        ):
            ctx.store.delete_session(session.id)
            ctx.snapshots.forget(session.id)
            if also_files:
                shutil.rmtree(session.folder, ignore_errors=True)
            st.toast(f"Deleted session {session.id}.", icon=":material/delete:")
            st.rerun()
        if state.active:
            st.caption("Stop the session before deleting it.")
