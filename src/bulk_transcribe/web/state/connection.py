"""How this browser session reaches the internet: a proxy and a YouTube cookies file chosen on
the Settings page, laid over the environment's settings for every page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bulk_transcribe.settings import Settings

PROXY_KEY = "connection_proxy"
COOKIES_KEY = "connection_cookies"


def with_connection(settings: Settings) -> Settings:
    """The settings with this session's proxy and cookies file, where it chose them."""
    update: dict[str, object] = {}
    proxy = str(st.session_state.get(PROXY_KEY) or "").strip()
    # A shared app connects to no address a visitor names unguarded (a proxy is connected to
    # wherever it is): its proxy is the operator's.
    if proxy and not settings.public_addresses_only:
        update["proxy"] = proxy
    cookies = str(st.session_state.get(COOKIES_KEY) or "").strip()
    # A shared app reads no file of its server on a visitor's word (the Settings page offers
    # none there).
    if cookies and not settings.public_addresses_only and Path(cookies).expanduser().is_file():
        update["cookies_file"] = Path(cookies).expanduser()
    return settings.model_copy(update=update) if update else settings
