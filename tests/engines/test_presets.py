"""Presets give each provider sensible defaults; every value can be overridden."""

from __future__ import annotations

import pytest

from bulk_transcribe.engines.presets import MB, NO_KEY, require_key, resolve_provider
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.settings import Settings


@pytest.fixture(autouse=True)
def no_keys_from_the_environment(monkeypatch):
    for name in ("OPENAI_API_KEY", "GROQ_API_KEY", "DEAPI_API_KEY", "DEAPI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"BULK_TRANSCRIBE_{name}", raising=False)
    monkeypatch.chdir("/")  # no project .env


def test_openai_engine_defaults_to_the_openai_preset():
    provider = resolve_provider(Settings(engine="openai"))
    assert provider.name == "openai"
    assert provider.api_base == "https://api.openai.com/v1"
    assert provider.model == "whisper-1"
    assert provider.max_upload_bytes == 25 * MB


def test_groq_preset_has_its_own_base_model_limit_and_key():
    provider = resolve_provider(Settings(engine="openai", provider="groq", groq_api_key="gsk_x"))
    assert provider.api_base.startswith("https://api.groq.com")
    assert provider.model == "whisper-large-v3-turbo"
    assert provider.rpm == 20
    assert require_key(provider) == "gsk_x"


def test_every_preset_value_can_be_overridden():
    settings = Settings(
        engine="openai",
        provider="openai",
        api_base="http://127.0.0.1:9/v1/",
        model="gpt-4o-transcribe",
        rpm=42,
        upload_limit_mb=5,
    )
    provider = resolve_provider(settings)
    assert provider.api_base == "http://127.0.0.1:9/v1"
    assert provider.model == "gpt-4o-transcribe"
    assert provider.rpm == 42
    assert provider.max_upload_bytes == 5 * MB


def test_an_api_base_without_a_provider_means_a_self_hosted_server_that_needs_no_key():
    provider = resolve_provider(Settings(engine="openai", api_base="http://127.0.0.1:8000/v1"))
    assert provider.name == "custom"
    assert provider.rpm is None
    assert require_key(provider) == NO_KEY


def test_deapi_reads_key_and_base_url_from_their_own_variables(monkeypatch):
    monkeypatch.setenv("DEAPI_API_KEY", "dk-secret")
    monkeypatch.setenv("DEAPI_BASE_URL", "http://127.0.0.1:9")
    provider = resolve_provider(Settings(engine="deapi"))
    assert provider.api_base == "http://127.0.0.1:9"
    assert provider.model == "WhisperLargeV3"
    assert provider.rpm == 300
    assert provider.max_upload_bytes == 10 * MB
    assert require_key(provider) == "dk-secret"


def test_a_missing_key_says_which_variable_to_set():
    with pytest.raises(PermanentError) as caught:
        require_key(resolve_provider(Settings(engine="openai")))
    assert caught.value.kind is ErrorKind.AUTH
    assert "OPENAI_API_KEY" in caught.value.message


def test_an_unknown_provider_lists_the_known_ones():
    with pytest.raises(PermanentError, match="groq"):
        resolve_provider(Settings(engine="openai", provider="nonesuch"))


def test_keys_are_secrets_kept_out_of_the_public_settings():
    settings = Settings(engine="deapi", deapi_api_key="dk-1", openai_api_key="sk-2")
    public = str(settings.public_dict())
    assert "dk-1" not in public and "sk-2" not in public
    assert "dk-1" not in repr(resolve_provider(settings))
