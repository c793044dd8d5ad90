"""The Find videos page's pieces: the search form, the result cards to choose from, and
starting a session with the chosen videos and their metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import streamlit as st

from bulk_transcribe.errors import ErrorKind, TranscribeError
from bulk_transcribe.figures import clock
from bulk_transcribe.models import ItemSpec, Session, SourceType
from bulk_transcribe.service.inputs import IngestResult
from bulk_transcribe.service.research import (
    Candidate,
    ChatNotConfigured,
    Gathered,
    Order,
    VideoQuery,
    backend_name,
    chat_configured,
    csv_text,
    gather,
    mark_transcribed,
)
from bulk_transcribe.settings import Settings
from bulk_transcribe.web.pages.frame import AppContext
from bulk_transcribe.web.panels.controls import start_new_session
from bulk_transcribe.web.panels.settings_panel import build_settings, load_preferences, secrets

FOUND_KEY = "found-videos"
CHOICE_PREFIX = "choose-"
ORDER_LABELS = {Order.RELEVANCE: "Relevance", Order.DATE: "Newest", Order.VIEWS: "Most viewed"}


@dataclass(frozen=True)
class SearchForm:
    query: VideoQuery | None  # None: nothing to search yet, or a problem already shown
    plan: bool
    score: bool
    submitted: bool


def render_search_form(settings: Settings) -> SearchForm:
    chat = chat_configured(settings)
    with st.form("find-form", border=False):
        text = st.text_input(
            "Search YouTube",
            key="find-query",
            placeholder="e.g. solar panels in cold climates",
        )
        limit_col, shortest_col, longest_col, after_col, order_col = st.columns(5)
        limit = limit_col.number_input("Results", 1, 200, 20, key="find-limit")
        shortest = shortest_col.number_input(
            "Shortest (min)", 0, 1000, 0, key="find-min", help="0: no minimum"
        )
        longest = longest_col.number_input(
            "Longest (min)", 0, 1000, 0, key="find-max", help="0: no maximum"
        )
        after = after_col.date_input("Published after", value=None, key="find-after")
        order = order_col.selectbox(
            "Order", list(ORDER_LABELS), format_func=ORDER_LABELS.get, key="find-order"
        )
        plan_col, score_col = st.columns([1.4, 1])  # the plan label whole at 1024 px
        plan = plan_col.checkbox(
            "It is a research question: plan several searches",
            key="find-plan",
            disabled=not chat,
        )
        score = score_col.checkbox(
            "Score relevance with a reason", key="find-score", disabled=not chat
        )
        submitted = st.form_submit_button("Search", icon=":material/search:", type="primary")
    hint = "" if chat else " · planning and scoring: set a chat model (BULK_TRANSCRIBE_CHAT_*)"
    st.caption(f"Searching with {backend_name(settings)}{hint}")
    if not submitted or not text.strip():
        return SearchForm(None, plan, score, submitted)
    try:
        query = VideoQuery(
            text=text,
            limit=int(limit),
            min_duration=shortest * 60 or None,
            max_duration=longest * 60 or None,
            after=after if isinstance(after, date) else None,
            order=Order(order),
        )
    except TranscribeError as exc:
        st.warning(exc.message)
        return SearchForm(None, plan, score, submitted)
    return SearchForm(query, plan, score, submitted)


def run_search(ctx: AppContext, form: SearchForm) -> None:
    """Search, and keep the results for this tab until the next search."""
    assert form.query is not None
    notes: list[str] = []
    try:
        with st.spinner("Searching…"):
            gathered = gather(
                form.query, ctx.settings, plan=form.plan, score=form.score, report=notes.append
            )
    except ChatNotConfigured as exc:
        st.error(str(exc), icon=":material/error:")
        return
    except TranscribeError as exc:
        # One visible line with what to do here; the details are in the server's log.
        st.error(search_problem(exc, ctx.settings.proxy), icon=":material/wifi_off:")
        return
    gathered.videos = mark_transcribed(ctx.store, gathered.videos)
    gathered.notes = notes + gathered.notes
    st.session_state[FOUND_KEY] = gathered
    for key in [k for k in st.session_state if str(k).startswith(CHOICE_PREFIX)]:
        del st.session_state[key]


def search_problem(exc: TranscribeError, proxy: str | None) -> str:
    """Why a search failed, in one line that says what to do in the app (no connection
    internals, no command-line flags)."""
    if exc.kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT, ErrorKind.BLOCKED):
        if proxy:
            return (
                "**YouTube could not be reached through the proxy.** Check the proxy on the "
                "**Settings** page (or clear it), then search again."
            )
        return (
            "**YouTube could not be reached:** this computer seems to be offline, or YouTube "
            "is blocked on this network. Check the connection, or set a proxy on the "
            "**Settings** page, then search again."
        )
    if exc.kind is ErrorKind.RATE_LIMITED:
        return (
            "**YouTube refused the search for now.** Wait a few minutes, or add a cookies file "
            "on the **Settings** page, then search again."
        )
    return f"**The search failed:** {in_app_words(exc.message)}"


def in_app_words(message: str) -> str:
    """Command-line advice in a message, as the place in the app that does the same."""
    message = re.sub(r"\s*\(?[A-Za-z]*Connection\w*\([^)]*\)\)?[^;]*", "", message)
    return message.replace("--proxy", "the proxy on the Settings page").replace(
        "--cookies", "the cookies file on the Settings page"
    )


def found() -> Gathered | None:
    return st.session_state.get(FOUND_KEY)


def render_results(gathered: Gathered) -> list[Candidate]:
    """A card per video with a checkbox; returns the chosen ones."""
    if len(gathered.queries) > 1:
        st.caption("Searched: " + " · ".join(f"“{q}”" for q in gathered.queries))
    for note in gathered.notes:
        st.caption(f":material/info: {note}")
    if not gathered.videos:
        st.info("No videos found.", icon=":material/search_off:")
        return []
    chosen = []
    for video in gathered.videos:
        with st.container(border=True, key=f"video-{video.video_id}"):
            thumb_col, text_col, choose_col = st.columns([1, 4, 1])
            if video.thumbnail:
                thumb_col.image(video.thumbnail, width="stretch")
            text_col.markdown(f"**[{_md(video.title)}]({video.url})**")
            text_col.caption(describe(video))
            if video.reason:
                text_col.caption(f"Relevance {video.relevance:.2f}: {video.reason}")
            if choose_col.checkbox(
                "Transcribe", key=f"{CHOICE_PREFIX}{video.video_id}", value=False
            ):
                chosen.append(video)
    return chosen


def describe(video: Candidate) -> str:
    parts = [video.channel or ""]
    if video.duration is not None:
        parts.append(clock(video.duration))
    if video.published:
        parts.append(("~" if video.published_approximate else "") + video.published.isoformat())
    if video.views is not None:
        parts.append(f"{video.views:,} views")
    parts.append({True: "captions", False: "no captions", None: ""}[video.captions])
    if video.transcribed:
        parts.append("✓ already transcribed")
    return " · ".join(p for p in parts if p)


def chosen_specs(videos: list[Candidate]) -> list[ItemSpec]:
    """Items for a session; each note's frontmatter carries the video's metadata."""
    return [
        ItemSpec(
            source=v.url,
            source_type=SourceType.YOUTUBE,
            title=v.title,
            metadata={**v.metadata(), **({"duration": v.duration} if v.duration else {})},
            origin=f"Find videos: {v.found_by}",
        )
        for v in videos
    ]


def render_actions(ctx: AppContext, chosen: list[Candidate], everything: list[Candidate]):
    """The Transcribe button and the list download; returns the session started, if any."""
    start_col, download_col, _ = st.columns([1.4, 1, 2])
    start = start_col.button(
        f"Transcribe {len(chosen)} chosen",
        icon=":material/play_arrow:",
        type="primary",
        disabled=not chosen,
        key="transcribe-chosen",
        width="stretch",
    )
    download_col.download_button(
        "Download list (CSV)",
        csv_text(chosen or everything),
        file_name="videos.csv",
        mime="text/csv",
        icon=":material/download:",
        key="download-list",
        width="stretch",
        help="The chosen videos (or all found): `bulk-transcribe run videos.csv` transcribes them.",
    )
    return start_session(ctx, chosen) if start else None


def start_session(ctx: AppContext, chosen: list[Candidate]) -> Session | None:
    try:
        # The choices last made on the Bulk Transcribe page: engine, model, formats, ...
        settings = build_settings(load_preferences(ctx.settings.out_dir), ctx.settings, secrets())
    except ValueError as exc:
        st.error(f"**Settings are not valid:** {exc}", icon=":material/block:")
        return None
    ingested = IngestResult(items=chosen_specs(chosen))
    return start_new_session(ctx.store, ctx.runs, settings, ingested)


def _md(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")
