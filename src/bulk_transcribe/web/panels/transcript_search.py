"""The Search transcripts page's pieces: the query form and the hits, each linked to its moment."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from bulk_transcribe import service
from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.figures import clock
from bulk_transcribe.models import SourceType
from bulk_transcribe.store import Store
from bulk_transcribe.store.search_index import (
    MATCH_END,
    MATCH_START,
    Hit,
    SearchResult,
)

ALL_SESSIONS = "All sessions"
HIT_LIMIT = 50
QUERY_HELP = (
    'Words (all must occur), "an exact phrase", prefix* (engin* finds engine and engineers), '
    "AND / OR / NOT. Accents do not matter: cafe finds café."
)


@dataclass(frozen=True)
class TranscriptQuery:
    text: str
    session_id: str | None
    sources: list[str]


def render_query_form(store: Store) -> TranscriptQuery:
    sessions = [s.id for s in store.list_sessions()]
    text_col, session_col, source_col = st.columns([3, 1.4, 1.4])
    text = text_col.text_input(
        "Search",
        key="transcript-query",
        placeholder='e.g. "solar panels" OR turbine*',
        help=QUERY_HELP,
    )
    chosen = session_col.selectbox("Session", [ALL_SESSIONS, *sessions], key="transcript-session")
    source = source_col.text_input(
        "Source contains", key="transcript-source", placeholder="youtube, a folder, a site…"
    )
    return TranscriptQuery(
        text=text.strip(),
        session_id=None if chosen == ALL_SESSIONS else chosen,
        sources=[source.strip()] if source.strip() else [],
    )


def run_search(store: Store, query: TranscriptQuery) -> SearchResult | None:
    """The hits for `query`, or None after telling the user what was wrong with it."""
    try:
        # The first search after many items finished indexes them first: worth a spinner.
        with st.spinner("Searching…"), service.open_search_index(store) as index:
            return index.search(
                query.text, session_id=query.session_id, sources=query.sources, limit=HIT_LIMIT
            )
    except TranscribeError as exc:
        st.warning(exc.message, icon=":material/search_off:")
        return None


def render_hits(result: SearchResult) -> None:
    if result.refresh.indexed_items:
        st.caption(f"Indexed {result.refresh.indexed_items} newly finished transcript(s).")
    for problem in result.refresh.unreadable:
        st.caption(f":material/warning: Not searchable: {problem}")
    if not result.hits:
        st.info(
            f"No match in {result.searchable_items} transcript(s).", icon=":material/search_off:"
        )
        return
    st.caption(
        f"{len(result.hits)} hit(s), best first, in {result.searchable_items} transcript(s)."
    )
    for number, hit in enumerate(result.hits):
        with st.container(border=True, key=f"hit-{number}"):
            render_hit(hit)


def render_hit(hit: Hit) -> None:
    text = html.escape(hit.text).replace(MATCH_START, "<mark>").replace(MATCH_END, "</mark>")
    link = html.escape(hit.link, quote=True)
    st.markdown(
        f'<a class="moment-link" href="{link}" target="_blank" rel="noopener">'
        f"▶ {clock(hit.start, moment=True)}</a> · <b>{html.escape(hit.title)}</b>"
        f'<br><span class="hit-text">{text}</span>',
        unsafe_allow_html=True,
    )
    st.caption(f"Session `{hit.session_id}` · {hit.source}")
    if hit.source_type is SourceType.LOCAL_FILE and Path(hit.source).is_file():
        # A browser may not open file:// links from a web page; play it here instead.
        with st.expander("Play from here", icon=":material/play_circle:"):
            st.audio(hit.source, start_time=int(hit.start))
