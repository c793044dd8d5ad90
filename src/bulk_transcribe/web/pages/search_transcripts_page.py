"""Search transcripts: every session in the store, each hit linked to the moment it was said."""

from __future__ import annotations

import streamlit as st

from bulk_transcribe.web.pages.frame import page_setup
from bulk_transcribe.web.panels.ask_box import render_ask_box
from bulk_transcribe.web.panels.transcript_search import (
    render_hits,
    render_query_form,
    run_search,
)


def render() -> None:
    ctx = page_setup("Search transcripts", icon=":material/manage_search:")
    st.title(":material/manage_search: Search transcripts")
    st.caption("Everything transcribed, in every session: find the moment a phrase was said.")

    query = render_query_form(ctx.store)
    render_ask_box(ctx.store, ctx.settings, query.session_id)
    if query.text:
        result = run_search(ctx.store, query)
        if result is not None:
            render_hits(result, query)
