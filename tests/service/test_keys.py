"""Whose API key goes where: a shared app's own keys only to their provider's own address,
and a key typed in the browser over the server's for the jobs it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.service.keys import job_environment, server_keys_may_go, visitor_keys_only
from bulk_transcribe.settings import Settings

SERVER_KEY = "sk-the-team-s-own"
TYPED_KEY = "sk-typed-in-the-browser"
KEY_VARIABLES = [f"BULK_TRANSCRIBE_{name}_API_KEY" for name in ("OPENAI", "DEAPI", "GROQ")]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """A shared app's environment holding the team's key (in a folder with no .env)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    monkeypatch.setenv("BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY", "1")
    return Settings()


def typed_address(server: Settings, api_base: str = "https://collect.example.net/v1") -> Settings:
    chosen = {"engine": "openai", "provider": "openai", "api_base": api_base}
    return server.model_copy(update=chosen)


def test_the_server_s_key_goes_only_to_the_provider_s_own_address(server: Settings) -> None:
    own = server.model_copy(update={"engine": "openai", "provider": "openai"})
    assert server_keys_may_go(own, server)
    assert visitor_keys_only(own, {}, server).openai_api_key.get_secret_value() == SERVER_KEY

    elsewhere = typed_address(server)
    assert not server_keys_may_go(elsewhere, server)
    assert visitor_keys_only(elsewhere, {}, server).openai_api_key is None
    kept = visitor_keys_only(elsewhere, {"openai_api_key": TYPED_KEY}, server)
    assert kept.openai_api_key.get_secret_value() == TYPED_KEY

    alone = elsewhere.model_copy(update={"public_addresses_only": False})  # this computer only
    assert server_keys_may_go(alone, server)


def test_a_job_gets_the_typed_key_over_the_server_s_and_no_server_key_for_a_typed_address(
    server: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(f'BULK_TRANSCRIBE_GROQ_API_KEY="{SERVER_KEY}"\n')
    environment = {"OPENAI_API_KEY": SERVER_KEY, "PATH": "/usr/bin"}

    def job_settings(job: dict[str, str]) -> Settings:
        for name in ("OPENAI_API_KEY", "BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY", *KEY_VARIABLES):
            monkeypatch.delenv(name, raising=False)  # only what the job is given counts
        for name, value in job.items():
            monkeypatch.setenv(name, value)
        return Settings()  # as the job process reads it: environment, then .env

    own = server.model_copy(update={"engine": "openai", "provider": "openai"})
    typed = job_settings(job_environment(environment, own, {"openai_api_key": TYPED_KEY}))
    assert typed.openai_api_key.get_secret_value() == TYPED_KEY  # was the server's before
    untouched = job_settings(job_environment(environment, own, {}))
    assert untouched.openai_api_key.get_secret_value() == SERVER_KEY

    job = job_settings(job_environment(environment, typed_address(server), {}))
    assert not job.openai_api_key.get_secret_value()
    assert not job.groq_api_key.get_secret_value()  # the .env's key is hidden too
    assert job_environment(environment, typed_address(server), {})["PATH"] == "/usr/bin"
