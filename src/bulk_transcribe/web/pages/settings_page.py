"""Settings: how the app reaches the internet (a proxy, YouTube cookies), for this browser
session or saved in .env for every later start."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

from bulk_transcribe import service
from bulk_transcribe.redact import scrub_text
from bulk_transcribe.web.pages.frame import AppContext, page_setup
from bulk_transcribe.web.state.connection import COOKIES_KEY, PROXY_KEY

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
# The variables Settings reads for these two (settings.py, prefix BULK_TRANSCRIBE_).
PROXY_VARIABLE = "BULK_TRANSCRIBE_PROXY"
COOKIES_VARIABLE = "BULK_TRANSCRIBE_COOKIES_FILE"


def proxy_problem(value: str) -> str | None:
    """Why a typed proxy URL cannot work, in words; None when it looks usable."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        return "Write it as scheme://host:port, e.g. http://127.0.0.1:8080 or socks5://host:1080."
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "The port must be a number."
    return None


def _kept_input(label: str, kept_key: str, **options) -> str:
    """A text box whose value outlives this page: Streamlit forgets a widget's state on a
    page that does not draw it, so the value is kept under a key of its own."""
    widget_key = f"_box_{kept_key}"
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state.get(kept_key, "")

    def keep() -> None:
        st.session_state[kept_key] = st.session_state[widget_key]

    return st.text_input(label, key=widget_key, on_change=keep, **options).strip()


def _render_shared_cookies(operator_set: bool) -> None:
    """A shared app takes no paths on its server: the cookies file is the operator's."""
    st.caption(
        ("In use: the cookies file set on the server." if operator_set else "No cookies: "
         "YouTube is asked as a visitor.")
        + f" This shared app reads no files of its server by name: whoever runs it sets "
        f"{COOKIES_VARIABLE}."
    )  # fmt: skip


def render() -> None:
    ctx = page_setup("Settings", icon=":material/settings:")
    # A shared app (a team password, or served beyond this computer) reads and writes no
    # files of its server, and connects to no proxy, on a visitor's word: no cookies path,
    # no proxy, no saving in its .env.
    shared = ctx.settings.public_addresses_only
    st.title(":material/settings: Settings")
    st.caption(
        "How this app reaches YouTube, podcasts and the providers."
        + (
            " In a shared app, whoever runs it sets these."
            if shared
            else " Used by this browser session at once; **Save in .env** keeps it for "
            "every later start."
        )
    )
    with st.container(border=True, key="section-proxy"):
        st.subheader("Proxy")
        if shared:
            _render_shared_proxy(ctx.settings.proxy)
        else:
            _render_proxy(ctx)
    with st.container(border=True, key="section-cookies"):
        st.subheader("YouTube cookies")
        if shared:
            _render_shared_cookies(ctx.settings.cookies_file is not None)
        else:
            _render_cookies(ctx)


def _render_shared_proxy(proxy: str | None) -> None:
    """A shared app connects to no address a visitor names unguarded: the proxy is the
    operator's."""
    in_use = f"In use: {scrub_text(proxy)}." if proxy else "No proxy: the app connects directly."
    st.caption(f"{in_use} Whoever runs this shared app sets it ({PROXY_VARIABLE}).")


def _render_proxy(ctx: AppContext) -> None:
    proxy = _kept_input(
        "Proxy URL",
        PROXY_KEY,
        placeholder="http://127.0.0.1:8080 or socks5://user:password@host:1080",
        help="Every download, link check and YouTube search goes through it. Empty: "
        "the environment's proxy, if any.",
    )
    problem = proxy_problem(proxy)
    if problem:
        st.error(f"**This proxy cannot be used.** {problem}", icon=":material/block:")
    elif ctx.settings.proxy:
        st.caption(f"In use: {scrub_text(ctx.settings.proxy)}")
    else:
        st.caption("No proxy: the app connects directly.")
    if st.button("Save proxy in .env", key="save-proxy", disabled=bool(problem or not proxy)):
        path = service.providers.save_in_env_file(PROXY_VARIABLE, proxy)
        st.toast(f"Saved in {path}.", icon=":material/save:")


def _render_cookies(ctx: AppContext) -> None:
    cookies = _kept_input(
        "Cookies file (cookies.txt)",
        COOKIES_KEY,
        placeholder="/path/to/cookies.txt",
        help="Exported from a browser signed in to YouTube (Netscape format): for videos "
        "that need a sign-in, or when YouTube asks to confirm you are not a bot.",
    )
    if cookies and not Path(cookies).expanduser().is_file():
        st.error(f"**No file at {cookies}.** Check the path.", icon=":material/block:")
    elif ctx.settings.cookies_file:
        st.caption(f"In use: `{ctx.settings.cookies_file}`")
    else:
        st.caption("No cookies: YouTube is asked as a visitor.")
    if st.button(
        "Save cookies file in .env",
        key="save-cookies",
        disabled=not cookies or not Path(cookies).expanduser().is_file(),
    ):
        path = service.providers.save_in_env_file(COOKIES_VARIABLE, cookies)
        st.toast(f"Saved in {path}.", icon=":material/save:")
