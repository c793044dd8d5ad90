"""The Ask box of the Search transcripts page: a question answered from the transcripts, each
sentence with links to the moments it rests on, and the passages used below."""

from __future__ import annotations

import html

import streamlit as st

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.figures import clock
from bulk_transcribe.plurals import counted
from bulk_transcribe.service.research import Answer, Passage, ask, chat_configured
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store

ANSWER_KEY = "ask-answer"


def render_ask_box(store: Store, settings: Settings, session_id: str | None) -> None:
    with st.container(border=True, key="ask-box"):
        st.markdown("**:material/forum: Ask your transcripts**")
        if not chat_configured(settings):
            st.caption(
                "Asking needs a chat model: set BULK_TRANSCRIBE_CHAT_API_BASE (an "
                "OpenAI-compatible endpoint) and BULK_TRANSCRIBE_CHAT_MODEL, then reload."
            )
            return
        with st.form("ask-form", border=False):
            question = st.text_input(
                "Question",
                key="ask-question",
                placeholder="e.g. What did they say about solar panels in winter?",
            )
            asked = st.form_submit_button("Ask", icon=":material/send:")
        if asked and question.strip():
            try:
                with st.spinner("Finding passages and asking the model…"):
                    st.session_state[ANSWER_KEY] = ask(
                        store, question, settings, session_id=session_id
                    )
            except TranscribeError as exc:
                st.warning(exc.message, icon=":material/error:")
                return
        answer = st.session_state.get(ANSWER_KEY)
        if isinstance(answer, Answer):
            render_answer(answer)


def render_answer(answer: Answer) -> None:
    if answer.found_nothing:
        st.info(
            "Nothing relevant was found in the transcripts, so the model was not asked. "
            "Try other words.",
            icon=":material/search_off:",
        )
        return
    if answer.problem:
        st.warning(
            f"No answer: {answer.problem}. The passages found are below.",
            icon=":material/error:",
        )
    for number, sentence in enumerate(answer.sentences):
        links = " ".join(_citation(p) for p in sentence.passages) or "<i>(no source)</i>"
        st.markdown(
            f'<div class="ask-sentence" id="ask-sentence-{number}">'
            f"{html.escape(sentence.text)} {links}</div>",
            unsafe_allow_html=True,
        )
        for quote in sentence.unfound_quotes:
            st.caption(
                f"Quotation not found in the passages it cites: “{html.escape(quote)}”",
                unsafe_allow_html=True,
            )
    if answer.dropped_citations:
        st.caption(
            f"{counted(answer.dropped_citations, 'citation')} to passages that were not given "
            + ("was" if answer.dropped_citations == 1 else "were")
            + " dropped."
        )
    used = answer.used or answer.passages
    with st.expander(f"Passages {'used' if answer.used else 'found'} ({len(used)})"):
        for passage in used:
            st.markdown(
                f"{_citation(passage)} <b>{html.escape(passage.title)}</b><br>"
                f"{html.escape(passage.text)}",
                unsafe_allow_html=True,
            )


def _citation(passage: Passage) -> str:
    link = html.escape(passage.link, quote=True)
    return (
        f'<a class="ask-citation" href="{link}" target="_blank" rel="noopener">'
        f"[{passage.number}] ▶ {clock(passage.moment, moment=True)}</a>"
    )
