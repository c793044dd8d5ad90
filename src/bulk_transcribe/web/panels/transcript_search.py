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
from bulk_transcribe.plurals import counted
from bulk_transcribe.store import Store
from bulk_transcribe.store.search_index import (
    MATCH_END,
    MATCH_START,
    Hit,
    SearchResult,
)

ALL_SESSIONS = "All sessions"
PAGE_SIZE = 25
_PAGE_KEY = "transcript-page"  # (query, page number): a new query starts at page one
_PLAYING_KEY = "transcript-playing"  # (item id, start) of the local hit being played
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


def current_page(query: TranscriptQuery) -> int:
    saved = st.session_state.get(_PAGE_KEY)
    return saved[1] if saved and saved[0] == query else 0


def run_search(store: Store, query: TranscriptQuery) -> SearchResult | None:
    """This page of hits for `query`, or None after telling the user what was wrong with it."""
    try:
        # The first search after many items finished indexes them first: worth a spinner.
        with st.spinner("Searching…"), service.open_search_index(store) as index:
            return index.search(
                query.text,
                session_id=query.session_id,
                sources=query.sources,
                limit=PAGE_SIZE,
                offset=current_page(query) * PAGE_SIZE,
            )
    except TranscribeError as exc:
        st.warning(exc.message, icon=":material/search_off:")
        return None


def render_hits(result: SearchResult, query: TranscriptQuery) -> None:
    if result.refresh.indexed_items:
        st.caption(f"Indexed {counted(result.refresh.indexed_items, 'newly finished transcript')}.")
    for problem in result.refresh.unreadable:
        st.caption(f":material/warning: Not searchable: {problem}")
    if not result.hits:
        st.info(
            f"No match in {counted(result.searchable_items, 'transcript')}.",
            icon=":material/search_off:",
        )
        return
    first, last = result.offset + 1, result.offset + len(result.hits)
    st.caption(
        f"Hits {first}–{last} of {result.total_hits}, best first, in "
        f"{result.matching_items:,} of {counted(result.searchable_items, 'transcript')}."
    )
    for number, hit in enumerate(result.hits):
        with st.container(border=True, key=f"hit-{number}"):
            render_hit(hit)
    _render_pager(result, query)


def _render_pager(result: SearchResult, query: TranscriptQuery) -> None:
    page = result.offset // PAGE_SIZE
    pages = max(1, -(-result.total_hits // PAGE_SIZE))
    if pages == 1:
        return
    back, where, forward = st.columns([1, 2, 1], vertical_alignment="center")
    if back.button("Previous hits", icon=":material/chevron_left:", disabled=page == 0):
        st.session_state[_PAGE_KEY] = (query, page - 1)
        st.rerun()
    where.caption(f"Page {page + 1} of {pages}")
    if forward.button("Next hits", icon=":material/chevron_right:", disabled=page + 1 >= pages):
        st.session_state[_PAGE_KEY] = (query, page + 1)
        st.rerun()


def render_hit(hit: Hit) -> None:
    text = html.escape(hit.text).replace(MATCH_START, "<mark>").replace(MATCH_END, "</mark>")
    title = f'<b>{html.escape(hit.title)}</b><br><span class="hit-text">{text}</span>'
    if hit.source_type is SourceType.LOCAL_FILE:
        _render_local_hit(hit, title)
    else:
        link = html.escape(hit.link, quote=True)
        st.markdown(
            f'<a class="moment-link" href="{link}" target="_blank" rel="noopener">'
            f"▶ {clock(hit.start, moment=True)}</a> · {title}",
            unsafe_allow_html=True,
        )
    st.caption(f"Session `{hit.session_id}` · {hit.source}")


def _render_local_hit(hit: Hit, title: str) -> None:
    """A browser opens no file:// link from a web page: the app serves the file itself, to a
    player that starts at the moment, for the one hit chosen (not a player per hit, which
    would load every file)."""
    moment = (hit.item_id, hit.start)
    play_col, text_col = st.columns([1, 8])
    if play_col.button(
        f"▶ {clock(hit.start)}",
        key=f"play-{hit.item_id}-{hit.start}",
        help="Play from this moment, here",
        disabled=not Path(hit.source).is_file(),
    ):
        st.session_state[_PLAYING_KEY] = moment
    text_col.markdown(title, unsafe_allow_html=True)
    if st.session_state.get(_PLAYING_KEY) == moment:
        st.audio(hit.source, start_time=int(hit.start), autoplay=True)
