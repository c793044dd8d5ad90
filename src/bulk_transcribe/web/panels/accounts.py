"""The sidebar's account box: which API keys are set (never their value) and DEAPI's balance."""

from __future__ import annotations

import streamlit as st
from pydantic import SecretStr

from bulk_transcribe import service
from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.settings import Settings
from bulk_transcribe.web.panels.settings_panel import secrets

BALANCE_TTL_SECONDS = 300
KEYS = (("openai_api_key", "OpenAI-compatible"), ("deapi_api_key", "DEAPI"))


def key_status(settings: Settings, typed: dict[str, str]) -> dict[str, str]:
    """For each cloud key: where it comes from, in words."""
    status = {}
    for name, label in KEYS:
        if typed.get(name):
            status[label] = "set in this browser session"
        elif getattr(settings, name) is not None:
            status[label] = "set in the environment or .env"
        else:
            status[label] = "not set"
    return status


@st.cache_data(ttl=BALANCE_TTL_SECONDS, show_spinner=False)
def deapi_balance(api_key: str, base_url: str | None) -> str:
    """The account's balance as DEAPI reports it, or why it could not be read."""
    settings = Settings(
        engine="deapi", deapi_api_key=SecretStr(api_key), deapi_base_url=base_url or None
    )
    try:
        return f"${service.deapi_balance(settings):.2f}"
    except TranscribeError as exc:
        return f"unavailable ({exc.message})"


def render_accounts(settings: Settings) -> None:
    typed = secrets()
    with st.expander("API keys", icon=":material/key:"):
        for label, where in key_status(settings, typed).items():
            icon = ":material/check:" if where != "not set" else ":material/close:"
            st.caption(f"{icon} **{label}** key: {where}")
        key = typed.get("deapi_api_key") or (
            settings.deapi_api_key.get_secret_value() if settings.deapi_api_key else ""
        )
        if key:
            balance = deapi_balance(key, settings.deapi_base_url)
            st.caption(f":material/account_balance_wallet: DEAPI balance: {balance}")
