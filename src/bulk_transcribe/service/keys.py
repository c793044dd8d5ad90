"""Whose API key goes where.

A shared web app (see `Settings.public_addresses_only`) holds the team's keys in its
environment or `.env`; a visitor may type another provider address (API base URL). The
server's keys go only to the address the server itself gives that provider; to an address a
visitor typed, only a key typed in that browser is sent (and it is reached only where links may
go: engines/presets.py). And a key typed in the browser is the one its jobs use, whatever key
variables the server's environment holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from bulk_transcribe.engines.presets import operator_endpoint
from bulk_transcribe.settings import Settings

# The Settings fields that hold API keys.
KEY_FIELDS = ("openai_api_key", "deapi_api_key", "groq_api_key")
_ENDPOINT_FIELDS = ("engine", "provider", "api_base", "deapi_base_url")


def server_keys_may_go(settings: Settings, server: Settings | None = None) -> bool:
    """Whether the server's own keys may be sent where `settings` point: always in an app on
    this computer alone; in a shared one only to the address `server` (the environment's
    settings) gives the same provider."""
    return operator_endpoint(settings, server)


def visitor_keys_only(
    settings: Settings, typed: Mapping[str, str], server: Settings | None = None
) -> Settings:
    """`settings` as they may be used: where the server's keys may not go, only the keys
    typed in the browser (`typed`, by Settings field) are left."""
    if server_keys_may_go(settings, server):
        return settings
    return settings.model_copy(
        update={name: SecretStr(typed[name]) if typed.get(name) else None for name in KEY_FIELDS}
    )


def _variables(field: str) -> set[str]:
    """Every environment variable Settings reads `field` from (compared in lower case)."""
    alias = Settings.model_fields[field].validation_alias
    names = {str(choice) for choice in getattr(alias, "choices", [])}
    return {name.lower() for name in names | {f"bulk_transcribe_{field}"}}


def job_environment(
    environment: Mapping[str, str], settings: Settings, typed: Mapping[str, str]
) -> dict[str, str]:
    """The environment of a job that runs a session with `settings`: each key typed in the
    browser (`typed`, by Settings field) replaces every variable the server sets that key with
    (Settings reads OPENAI_API_KEY before BULK_TRANSCRIBE_OPENAI_API_KEY); where the server's
    keys may not go, every other key is set empty, which also hides the `.env`'s."""
    keep_server_keys = server_keys_may_go(settings)
    replaced = {
        field: typed.get(field) or ""
        for field in KEY_FIELDS
        if typed.get(field) or not keep_server_keys
    }
    hidden = set().union(*(_variables(field) for field in replaced)) if replaced else set()
    job = {name: value for name, value in environment.items() if name.lower() not in hidden}
    job.update({f"BULK_TRANSCRIBE_{field.upper()}": value for field, value in replaced.items()})
    return job


def endpoint_settings(stored: Mapping[str, object]) -> Settings:
    """The environment's settings with a stored session's engine and provider address."""
    return Settings().model_copy(
        update={name: stored.get(name) for name in _ENDPOINT_FIELDS if name in stored}
    )
