"""The Home page: what the app does, where to start, and the recent sessions."""

from __future__ import annotations

import streamlit as st

from bulk_transcribe.plurals import counted
from bulk_transcribe.web.pages.frame import page_setup
from bulk_transcribe.web.panels.running_now import BULK_PAGE, running_sessions
from bulk_transcribe.web.panels.sessions_list import sessions_frame

RECENT = 8
SESSIONS_PAGE = "pages/03_Sessions.py"


def render() -> None:
    ctx = page_setup("Home")
    st.title(":material/graphic_eq: Bulk Transcribe")
    st.markdown(
        "Turn long lists of **YouTube videos, podcasts and media files** into transcripts — "
        "Markdown with YAML front matter, SRT and VTT subtitles, JSON and plain text — in a "
        "session folder. Items run in parallel when you allow it, rate-limited and resumable, "
        "and you can watch every one of them live."
    )
    start_col, sessions_col, _ = st.columns([1, 1, 2])
    start_col.page_link(BULK_PAGE, label="Start a batch", icon=":material/play_arrow:")
    sessions_col.page_link(SESSIONS_PAGE, label="All sessions", icon=":material/folder_open:")

    running = running_sessions(ctx.store, ctx.runs)
    if running:
        st.info(f"{counted(len(running), 'session')} running now.", icon=":material/sync:")
        for session_id in running:
            st.page_link(
                BULK_PAGE,
                label=f"Watch {session_id}",
                icon=":material/visibility:",
                query_params={"session": session_id},
            )

    st.subheader("Recent sessions")
    recent = ctx.store.list_sessions(limit=RECENT)
    if recent:
        st.dataframe(sessions_frame(ctx.store, recent, ctx.runs), hide_index=True, width="stretch")
    else:
        st.caption("No sessions yet: start one from **Bulk Transcribe**.")

    with st.expander("How it works", icon=":material/help:"):
        st.markdown(
            "1. **Input**: paste links (then **Use these links**) or upload a .txt list or a "
            ".csv/.tsv/.xlsx sheet; invalid rows are listed with the reason before anything "
            "runs.\n"
            "2. **Settings**: engine and model, language, output formats, a requests-per-minute "
            "limit and, if you want it, parallel processing (1 to 10 items at once).\n"
            "3. **Run**: the job runs in the background. Refresh, close the tab or open a "
            "second one: the session carries on, and Stop, Cancel, Resume and Retry failed "
            "work from any tab — and on sessions started with the `bulk-transcribe` command "
            "line too. Every session has its own address; **Running now** in the sidebar "
            "leads back to it from any page."
        )
