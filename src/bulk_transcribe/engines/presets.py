"""Cloud provider presets: base URL, default model, upload limit and requests-per-minute."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic import SecretStr

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.settings import DEFAULT_MODEL, Settings

MB = 1024 * 1024


@dataclass(frozen=True)
class Preset:
    name: str
    engine: str  # which engine speaks this provider's protocol
    api_base: str
    model: str
    max_upload_bytes: int
    rpm: int | None  # None: no limit known (self-hosted)
    key_setting: str | None  # Settings field holding the key; None: no key needed
    key_hint: str  # what to set when the key is missing
    key_required: bool = True  # self-hosted servers usually take any key, or none


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        # https://platform.openai.com/docs/guides/speech-to-text: 25 MB uploads.
        Preset(
            "openai",
            "openai",
            "https://api.openai.com/v1",
            "whisper-1",
            25 * MB,
            500,
            "openai_api_key",
            "OPENAI_API_KEY",
        ),
        # https://console.groq.com/docs/speech-to-text: 25 MB on the free tier, 20 RPM.
        Preset(
            "groq",
            "openai",
            "https://api.groq.com/openai/v1",
            "whisper-large-v3-turbo",
            25 * MB,
            20,
            "groq_api_key",
            "GROQ_API_KEY",
        ),
        # Self-hosted OpenAI-compatible servers: no key, no rate limit, generous uploads.
        Preset(
            "speaches",
            "openai",
            "http://localhost:8000/v1",
            "Systran/faster-whisper-small",
            500 * MB,
            None,
            None,
            "",
            key_required=False,
        ),
        Preset(
            "localai",
            "openai",
            "http://localhost:8080/v1",
            "whisper-1",
            500 * MB,
            None,
            None,
            "",
            key_required=False,
        ),
        # Any other OpenAI-compatible server given with --api-base.
        Preset(
            "custom",
            "openai",
            "http://localhost:8000/v1",
            "whisper-1",
            25 * MB,
            None,
            "openai_api_key",
            "OPENAI_API_KEY",
            key_required=False,
        ),
        # https://docs.deapi.ai/api/analysis/upload-audio-file: 10 MB uploads; the user's plan
        # allows 300 requests per minute.
        Preset(
            "deapi",
            "deapi",
            "https://api.deapi.ai",
            "WhisperLargeV3",
            10 * MB,
            300,
            "deapi_api_key",
            "DEAPI_API_KEY",
        ),
    )
}


@dataclass(frozen=True)
class ProviderConfig:
    """A preset with the user's overrides applied: what an engine actually uses."""

    name: str
    engine: str
    api_base: str
    model: str
    max_upload_bytes: int
    rpm: int | None
    api_key: SecretStr | None
    key_hint: str
    key_required: bool
    # Whether the API base is one the operator gave (or the preset's own), so it may be on
    # any address; a shared web app's visitor typed it otherwise (operator_endpoint).
    operator_endpoint: bool = True

    def __repr__(self) -> str:  # the dataclass default would be safe too; be explicit
        return f"ProviderConfig(name={self.name!r}, api_base={self.api_base!r})"

    @property
    def provider_id(self) -> str:
        """Name plus a fingerprint of base URL and key: one request budget per id. The key
        itself never appears, only 10 hex digits of a hash it shares with the URL."""
        key = self.api_key.get_secret_value() if self.api_key else ""
        digest = hashlib.sha256(f"{self.api_base}\n{key}".encode()).hexdigest()[:10]
        return f"{self.name}@{digest}"


def default_provider(settings: Settings) -> str:
    if settings.provider:
        return settings.provider
    if settings.engine == "deapi":
        return "deapi"
    return "custom" if settings.api_base else "openai"


def resolve_provider(settings: Settings) -> ProviderConfig:
    """The provider the settings name, every preset value overridable by the settings."""
    name = default_provider(settings).lower()
    preset = PRESETS.get(name)
    if preset is None:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"unknown provider {name!r}; choose from {', '.join(sorted(PRESETS))}",
        )
    api_base = settings.api_base
    if preset.engine == "deapi":
        api_base = settings.deapi_base_url or api_base
    upload_limit = settings.upload_limit_mb
    return ProviderConfig(
        name=preset.name,
        engine=preset.engine,
        api_base=(api_base or preset.api_base).rstrip("/"),
        model=preset.model if settings.model == DEFAULT_MODEL else settings.model,
        max_upload_bytes=int(upload_limit * MB) if upload_limit else preset.max_upload_bytes,
        rpm=settings.rpm or preset.rpm,
        api_key=getattr(settings, preset.key_setting) if preset.key_setting else None,
        key_hint=preset.key_hint,
        key_required=preset.key_required,
        operator_endpoint=operator_endpoint(settings),
    )


def _resolved_base(settings: Settings) -> str | None:
    preset = PRESETS.get(default_provider(settings).lower())
    if preset is None:
        return None
    api_base = settings.api_base
    if preset.engine == "deapi":
        api_base = settings.deapi_base_url or api_base
    return (api_base or preset.api_base).rstrip("/")


def operator_endpoint(settings: Settings, server: Settings | None = None) -> bool:
    """Whether the provider address `settings` give is the operator's: always outside a
    shared web app (`public_addresses_only`); in one, only the address the server's own
    settings (`server`, else the environment's) give the same provider. Anything else a
    visitor typed: it gets no server key, and is reached only where links may go."""
    if not settings.public_addresses_only or settings.engine == "local":
        return True
    server = server if server is not None else Settings()
    own = server.model_copy(update={"engine": settings.engine, "provider": settings.provider})
    endpoint = _resolved_base(settings)
    return endpoint is not None and endpoint == _resolved_base(own)


# Sent to self-hosted servers that want no key: the OpenAI SDK refuses an empty one.
NO_KEY = "no-key"


def require_key(provider: ProviderConfig) -> str:
    """The key's value for building a client; a clear error when a needed key is missing."""
    key = provider.api_key.get_secret_value() if provider.api_key else ""
    if key:
        return key
    if not provider.key_required:
        return NO_KEY
    raise PermanentError(
        ErrorKind.AUTH,
        f"no API key for {provider.name}: set {provider.key_hint} in the environment or in .env",
    )
