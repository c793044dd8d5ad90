"""The "running now" indicator every page shows in its sidebar: each live session, linked."""

from __future__ import annotations

import streamlit as st

from bulk_transcribe.models import SessionStatus
from bulk_transcribe.store import Store
from bulk_transcribe.web.state.runs import Runs

BULK_PAGE = "pages/02_Bulk_Transcribe.py"
REFRESH_SECONDS = 3.0
SHOWN = 5


def running_sessions(store: Store, runs: Runs) -> list[str]:
    """Ids of the sessions someone works on now, newest first."""
    return [
        session.id
        for session in store.list_sessions()
        if session.status in (SessionStatus.RUNNING, SessionStatus.CREATED) and runs.alive(session)
    ]


@st.fragment(run_every=REFRESH_SECONDS)
def render_running_now(store: Store, runs: Runs) -> None:
    running = running_sessions(store, runs)
    with st.container(key="running-now"):
        if not running:
            st.caption(":material/bedtime: Nothing running now.")
            return
        st.markdown(f"**:material/sync: Running now ({len(running)})**")
        for session_id in running[:SHOWN]:
            counts = store.counts(session_id)
            st.page_link(
                BULK_PAGE,
                label=f"{session_id} · {counts.finished} of {counts.total}",
                icon=":material/visibility:",
                query_params={"session": session_id},
            )
        if len(running) > SHOWN:
            st.caption(f"…and {len(running) - SHOWN} more on the Sessions page.")
