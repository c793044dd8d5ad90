"""Find videos: search YouTube, choose what to transcribe, start a session with one click."""

from __future__ import annotations

import streamlit as st

from bulk_transcribe.web.pages.frame import page_setup
from bulk_transcribe.web.panels.video_search import (
    found,
    render_actions,
    render_results,
    render_search_form,
    run_search,
)

BULK_PAGE = "pages/02_Bulk_Transcribe.py"


def render() -> None:
    ctx = page_setup("Find videos", icon=":material/travel_explore:")
    st.title(":material/travel_explore: Find videos")
    st.caption("Search YouTube, choose the videos worth transcribing, and transcribe them.")

    form = render_search_form(ctx.settings)
    if form.query is not None:
        run_search(ctx, form)

    gathered = found()
    if gathered is not None:
        chosen = render_results(gathered)
        session = render_actions(ctx, chosen, gathered.videos)
        if session is not None:
            st.switch_page(BULK_PAGE, query_params={"session": session.id})
