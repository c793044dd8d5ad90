"""Cloud setup in the Settings panel: provider preset, base URL, key and the provider's models;
and the plain message when the check before Start finds the setup unusable."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from pydantic import SecretStr

from bulk_transcribe import service
from bulk_transcribe.service.providers import PRESETS
from bulk_transcribe.settings import Settings
from bulk_transcribe.web.panels.widget_defaults import remembered_select

KEY_LABELS = {"openai": "OpenAI-compatible API key", "deapi": "DEAPI API key"}
# Which Settings field holds each cloud engine's key; typed keys stay in this browser session.
ENGINE_KEYS = {"openai": "openai_api_key", "deapi": "deapi_api_key"}
SECRET_PREFIX = "secret_"
PROVIDER_LABELS = {
    "openai": "OpenAI",
    "groq": "Groq",
    "speaches": "speaches (self-hosted)",
    "localai": "LocalAI (self-hosted)",
    "custom": "Another OpenAI-compatible server",
    "deapi": "DEAPI",
}
MODELS_TTL_SECONDS = 600
WHERE_SETUP = "**2) Settings** (Provider, API base URL, API key)"
SERVER_KEYS_STAY_HOME = (
    "This shared app sends its own API keys only to the provider's own address: for the "
    "API base URL typed here, enter your key."
)


@dataclass(frozen=True)
class CloudChoices:
    provider: str
    api_base: str  # empty: the preset's own


def providers_for(engine: str) -> list[str]:
    return [name for name, preset in PRESETS.items() if preset.engine == engine]


def typed_key(engine: str) -> str:
    name = ENGINE_KEYS.get(engine)
    return st.session_state.get(SECRET_PREFIX + name, "") if name else ""


def render_cloud_setup(engine: str, saved, on_change) -> CloudChoices | None:
    """Provider, base URL and key for a cloud engine; None for the local engine. `saved`
    (the remembered RunChoices) gives the widgets their defaults."""
    choices = providers_for(engine)
    if not choices:
        return None
    provider_col, base_col = st.columns([1, 2])
    # A provider of the other engine is forgotten: it starts from the default.
    provider = remembered_select(
        provider_col,
        "Provider",
        choices,
        saved.provider,
        "pref_provider",
        on_change=on_change,
        format_func=lambda name: PROVIDER_LABELS.get(name, name),
        help="Sets the base URL, default model and request limit; change the base URL for "
        "another server of the same kind.",
    )
    preset = PRESETS[provider]
    api_base = base_col.text_input(
        "API base URL",
        value=saved.api_base if saved.provider in choices else "",
        key="pref_api_base",
        on_change=on_change,
        placeholder=preset.api_base,
        help=f"Empty: {preset.api_base}",
    )
    _render_key_input(engine)
    return CloudChoices(provider=provider, api_base=api_base.strip())


def _render_key_input(engine: str) -> None:
    name = ENGINE_KEYS[engine]
    widget_key = f"_input_{name}"
    # A plain session-state value backs the widget so the key survives page switches.
    st.session_state.setdefault(widget_key, st.session_state.get(SECRET_PREFIX + name, ""))
    key_col, save_col = st.columns([2, 1], vertical_alignment="bottom")
    value = key_col.text_input(
        KEY_LABELS[engine],
        type="password",
        key=widget_key,
        help="Kept in this browser session only, unless you save it in .env. Never written "
        "to logs or sessions. Empty: the key from the environment or .env.",
    )
    st.session_state[SECRET_PREFIX + name] = value
    if Settings().public_addresses_only:  # a shared app's .env is its operator's
        return
    if save_col.button("Save key in .env", key=f"save-{name}", disabled=not value):
        path = service.providers.save_in_env_file(name.upper(), value)
        st.toast(f"Saved in {path}: new sessions and restarts use it.", icon=":material/key:")


def cloud_settings_for_models(engine: str, setup: CloudChoices, base: Settings) -> Settings:
    update: dict = {"engine": engine, "provider": setup.provider}
    if setup.api_base:
        update["deapi_base_url" if engine == "deapi" else "api_base"] = setup.api_base
    key = typed_key(engine)
    if key:
        update[ENGINE_KEYS[engine]] = SecretStr(key)
    typed = {ENGINE_KEYS[engine]: key} if key else {}
    return service.keys.visitor_keys_only(base.model_copy(update=update), typed, server=base)


@st.cache_data(ttl=MODELS_TTL_SECONDS, show_spinner=False, max_entries=16)
def provider_models(
    engine: str, provider: str, api_base: str, key: str, _base: Settings
) -> tuple[str, ...] | None:
    """The provider's model list (one request per setup, cached); None when it offers none
    or cannot be asked."""
    settings = cloud_settings_for_models(engine, CloudChoices(provider, api_base), _base)
    check = service.providers.check_cloud_access(settings)
    return check.models if check.ok else None


def model_options(engine: str, setup: CloudChoices | None, base: Settings) -> list[str] | None:
    """The models to offer for a cloud engine: the provider's list where it has one, else the
    preset's model; None for the local engine."""
    if setup is None:
        return None
    if setup.api_base and not typed_key(engine):
        chosen = cloud_settings_for_models(engine, setup, base)
        if not service.keys.server_keys_may_go(chosen, base):
            st.caption(SERVER_KEYS_STAY_HOME)
    offered = None
    if engine == "openai":
        offered = provider_models(engine, setup.provider, setup.api_base, typed_key(engine), base)
        st.caption(
            f"Models: the {len(offered)} {PROVIDER_LABELS[setup.provider]} offers."
            if offered
            else "Models: the preset's default (the provider's list needs a working key)."
        )
    return list(offered or (PRESETS[setup.provider].model,))


def access_message(check: service.providers.AccessCheck, engine: str) -> str:
    """One plain message for a setup that cannot start, saying where to fix it."""
    what = PROVIDER_LABELS.get(check.provider, check.provider)
    key_field = f"**{KEY_LABELS.get(engine, 'API key')}** in **2) Settings**"
    problem = check.problem
    if problem is service.providers.AccessProblem.MISSING_KEY:
        return f"**No API key for {what}.** Enter it as {key_field}. Nothing was started."
    if problem is service.providers.AccessProblem.REJECTED_KEY:
        return (
            f"**{what} rejected the API key.** Check {key_field} (and the provider). "
            "Nothing was started."
        )
    if problem is service.providers.AccessProblem.NO_CREDIT:
        return f"**{what} says the account is out of credit.** Top it up, then start again."
    if problem is service.providers.AccessProblem.UNREACHABLE:
        return (
            f"**{what} could not be reached** ({check.message}). Check the API base URL in "
            f"{WHERE_SETUP} and "
            "the proxy on the **Settings** page. Nothing was started."
        )
    if problem is service.providers.AccessProblem.SETUP:
        return f"**{what} cannot be used as set up:** {check.message}. Check {WHERE_SETUP}."
    if problem is service.providers.AccessProblem.UNAVAILABLE:
        return f"**{check.message[0].upper()}{check.message[1:]}.** Nothing was started."
    return f"**{what} is not answering properly right now** ({check.message}). Try again soon."
