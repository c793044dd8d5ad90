"""Plain words for the values the store and settings hold: models, limits and error kinds."""

from __future__ import annotations

import re

from bulk_transcribe.errors import ErrorKind
from bulk_transcribe.service.providers import PRESETS

BUNDLED_PREFIX = "bundled:"
# What a user reads for each kind of failure, and whether trying again may help.
ERROR_KINDS: dict[str, tuple[str, bool]] = {
    ErrorKind.INVALID_INPUT: ("Not a usable link or file", False),
    ErrorKind.NOT_FOUND: ("Not found (removed, private or mistyped)", False),
    ErrorKind.DECODE: ("The audio could not be read", False),
    ErrorKind.UNSUPPORTED: ("Not supported", False),
    ErrorKind.NETWORK: ("Network problem", True),
    ErrorKind.HTTP: ("The server refused the download", False),
    ErrorKind.TIMEOUT: ("Took too long", True),
    ErrorKind.RATE_LIMITED: ("Rate limited by the provider", True),
    ErrorKind.AUTH: ("The API key was rejected", False),
    ErrorKind.QUOTA: ("Out of credit or quota", False),
    ErrorKind.PROVIDER: ("The provider had a problem", True),
    ErrorKind.DISK_FULL: ("The disk is full", True),
    ErrorKind.UNWRITABLE: ("The output folder could not be written", True),
    ErrorKind.MODEL: ("The speech model could not be loaded", False),
    ErrorKind.CANCELLED: ("Cancelled", True),
    ErrorKind.INTERNAL: ("Unexpected error (a bug: please report it)", True),
}
# HTTP answers worth trying again: the server was busy or down, not refusing for good.
_RETRYABLE_HTTP = re.compile(r"\b(408|425|429|5\d\d)\b")
# "concurrency 4 → 1: " as the runner prefixes its concurrency events.
_CHANGE_PREFIX = re.compile(r"^\s*concurrency \d+(?: → \d+)?:\s*")


def model_label(model: str) -> str:
    """ "bundled:tiny.en" -> "tiny.en (bundled, offline)"."""
    if model.startswith(BUNDLED_PREFIX):
        return f"{model.removeprefix(BUNDLED_PREFIX)} (bundled, offline)"
    return model


def rpm_label(rpm: int | None, engine: str, provider: str | None = None) -> str:
    """What a requests-per-minute setting means for this engine, in words."""
    if rpm:
        return f"{rpm} requests per minute"
    if engine == "local":
        return "no limit (runs on this computer)"
    preset = PRESETS.get(provider or engine)
    if preset is None or preset.rpm is None:
        return "provider default (no known limit)"
    return f"provider default ({preset.rpm}/min for {_provider_name(preset.name)})"


def error_kind_label(kind: str | None) -> str:
    label = ERROR_KINDS.get(kind or "")
    return label[0] if label else (kind or "Unknown error").replace("_", " ").capitalize()


def is_retryable(kind: str | None, message: str | None) -> bool:
    """Whether trying the item again may help without the user changing anything."""
    if kind == ErrorKind.HTTP:
        return bool(_RETRYABLE_HTTP.search(message or ""))
    known = ERROR_KINDS.get(kind or "")
    return known[1] if known else True


def concurrency_reason(reason: str | None) -> str | None:
    """A runner's reason without the "concurrency 4 → 1:" prefixes it may carry, twice."""
    if reason is None:
        return None
    while _CHANGE_PREFIX.match(reason):
        reason = _CHANGE_PREFIX.sub("", reason, count=1)
    reason = reason.strip()
    return reason[:1].upper() + reason[1:] if reason else None


def web_advice(message: str) -> str:
    """Ingest errors advise command-line flags; in the web app the same choice is a widget."""
    return re.sub(
        r"Name the one holding the links with --column url=<name>",
        "Pick the column holding the links under **Link column**",
        message,
    ).replace("--force", "**Transcribe again if done before**")


def _provider_name(name: str) -> str:
    return {"deapi": "DEAPI", "openai": "OpenAI", "groq": "Groq"}.get(name, name)
