"""The sign-in gate of a shared web app: until a browser gives the team password, every page
shows this form and nothing else (no controls, no session names, no sidebar).

A signed-in browser keeps a signed token in this Streamlit session and in a cookie, so a new
tab or a reload stays signed in for a working day. Streamlit reads cookies
(`st.context.cookies`) but cannot set them, so a line of JavaScript sets it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import streamlit as st

from bulk_transcribe.settings import Settings
from bulk_transcribe.web.access import (
    AttemptThrottle,
    SignInTokens,
    hash_password,
    new_signing_key,
    password_matches,
)
from bulk_transcribe.web.launch import PASSWORD_VARIABLE, is_loopback

COOKIE = "bulk_transcribe_sign_in"
TOKEN_KEY = "_sign_in_token"
PASSWORD_LABEL = "Team password"
SIGN_IN_LABEL = "Sign in"
WRONG_PASSWORD = "That is not the team password."


@dataclass(frozen=True)
class Access:
    password_hash: str
    tokens: SignInTokens


@st.cache_resource(show_spinner=False)
def _throttle() -> AttemptThrottle:
    """One per server process: every tab's attempts count against its client."""
    return AttemptThrottle()


@st.cache_resource(show_spinner=False)
def _tokens(signing_key: str) -> SignInTokens:
    return SignInTokens(signing_key)


@st.cache_resource(show_spinner=False)
def _hashed_here(password: str) -> Access:
    """The app started by `streamlit run` with the password itself: hashed once per process,
    with a signing key that lasts as long as the process."""
    return Access(hash_password(password), SignInTokens(new_signing_key()))


def _access(settings: Settings) -> Access | None:
    if settings.ui_password_hash and settings.ui_signing_key:  # as `bulk-transcribe ui` hands over
        return Access(
            settings.ui_password_hash.get_secret_value(),
            _tokens(settings.ui_signing_key.get_secret_value()),
        )
    if settings.ui_password:
        return _hashed_here(settings.ui_password.get_secret_value())
    return None


def _served_beyond_loopback() -> bool:
    return not is_loopback(str(st.get_option("server.address") or "127.0.0.1"))


def require_sign_in(settings: Settings) -> None:
    """Return when this browser may use the app; otherwise show the sign-in form and stop."""
    access = _access(settings)
    if access is None:
        if _served_beyond_loopback():
            st.error(
                f"This app is served beyond this computer without a password. Set one in "
                f"{PASSWORD_VARIABLE} and start it with `bulk-transcribe ui`."
            )
            st.stop()
        return  # on this computer only: no sign-in
    token = st.session_state.get(TOKEN_KEY) or st.context.cookies.get(COOKIE)
    if access.tokens.valid(token):
        st.session_state[TOKEN_KEY] = token
        if st.context.cookies.get(COOKIE) != token:
            _remember(token, access.tokens.max_age)
        return
    st.session_state.pop(TOKEN_KEY, None)
    _sign_in_form(access)
    st.stop()


def _sign_in_form(access: Access) -> None:
    st.title(":material/lock: Bulk Transcribe")
    with st.form("sign-in", border=False):
        attempt = st.text_input(PASSWORD_LABEL, type="password")
        submitted = st.form_submit_button(SIGN_IN_LABEL, type="primary")
    if not submitted:
        return
    client = st.context.ip_address or "unknown"
    throttle = _throttle()
    wait = throttle.wait_left(client)
    if wait > 0:
        st.error(f"Too many wrong passwords from here: try again in {math.ceil(wait)} s.")
        return
    if not password_matches(access.password_hash, attempt):
        throttle.failed(client)
        st.error(WRONG_PASSWORD)
        return
    throttle.succeeded(client)
    st.session_state[TOKEN_KEY] = access.tokens.issue()
    st.rerun()


def _remember(token: str, max_age: int) -> None:
    # The token is URL-safe base64 and dots: nothing in it can break out of the string.
    st.html(
        "<script>document.cookie = "
        f'"{COOKIE}={token}; Max-Age={max_age}; Path=/; SameSite=Strict"'
        ' + (location.protocol === "https:" ? "; Secure" : "");</script>',
        unsafe_allow_javascript=True,
    )
