"""Following: the feeds, channels, playlists and searches kept up with, when each was last
checked and what was new; follow another, unfollow, or check now (a process of its own)."""

from __future__ import annotations

import html

import streamlit as st
from pydantic import SecretStr

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.service import follow
from bulk_transcribe.web.pages.frame import AppContext, page_setup
from bulk_transcribe.web.panels.settings_panel import secrets
from bulk_transcribe.web.state.runs import secret_environment


def render() -> None:
    ctx = page_setup("Following", icon=":material/rss_feed:")
    st.title(":material/rss_feed: Following")
    st.caption(
        "Podcast feeds, YouTube channels, playlists and searches: each check transcribes only "
        "what appeared since the last one, into a new session. From a terminal or cron: "
        "`bulk-transcribe update`."
    )
    _follow_form(ctx)
    followed = follow.followed(ctx.store)
    if not followed:
        st.info("Nothing followed yet.", icon=":material/rss_feed:")
        return
    _check_now(ctx)
    for source in followed:
        _followed_row(ctx, source)


def _follow_form(ctx: AppContext) -> None:
    with st.form("follow-form", border=True):
        url_col, latest_col, title_col = st.columns([3, 1, 1.4])
        target = url_col.text_input(
            "Follow", key="follow-url", placeholder="a podcast feed, channel or playlist URL"
        )
        latest = latest_col.number_input("Newest N", min_value=0, value=0, key="follow-latest")
        word = title_col.text_input("Title contains", key="follow-title")
        search = st.checkbox("It is a YouTube search (its newest videos)", key="follow-search")
        if st.form_submit_button("Follow", icon=":material/add:") and target.strip():
            filters = follow.FollowFilters(
                latest=int(latest) or None,
                title_words=(word.strip(),) if word.strip() else (),
            )
            try:
                added, new = follow.follow(ctx.store, target, filters, search=search)
            except TranscribeError as exc:
                st.warning(exc.message, icon=":material/error:")
                return
            st.success(("Following " if new else "Filters updated for ") + added.url)


def _check_now(ctx: AppContext) -> None:
    running = follow.running_update(ctx.store)
    if running is not None:
        holder, started = running
        st.info(
            f"An update is running (pid {holder.pid}, started {started}).",
            icon=":material/sync:",
        )
        return
    if st.button("Check now", icon=":material/sync:", key="follow-check-now"):
        out_dir = ctx.settings.out_dir
        typed = {k: SecretStr(v) for k, v in secrets().items() if v}  # keys typed here
        keys = secret_environment(ctx.settings.model_copy(update=typed))
        pid = follow.launch_update(ctx.settings.database, out_dir, secrets=keys)
        st.success(f"Checking in process {pid}; its output goes to {out_dir / 'update.log'}.")


def _followed_row(ctx: AppContext, source: follow.Follow) -> None:
    with st.container(border=True, key=f"follow-{source.id}"):
        text_col, button_col = st.columns([6, 1])
        rules = source.filters.describe()
        checked = source.checked_at or "never"
        new = "" if source.last_new is None else f" · {source.last_new} new of {source.last_found}"
        text_col.markdown(
            f"**#{source.id} {html.escape(source.name)}** · {source.kind}"
            + (f" · {html.escape(rules)}" if rules else "")
            + f"<br>Last checked: {checked}{new}"
            + (f" · session `{source.last_session_id}`" if source.last_session_id else ""),
            unsafe_allow_html=True,
        )
        if source.last_problem:
            text_col.caption(f":material/warning: {source.last_problem}")
        if button_col.button("Unfollow", key=f"unfollow-{source.id}"):
            follow.unfollow(ctx.store, str(source.id))
            st.rerun()
