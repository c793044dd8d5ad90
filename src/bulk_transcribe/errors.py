"""Typed errors whose messages tell a user what went wrong and what to do."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID_INPUT = "invalid_input"
    NOT_FOUND = "not_found"
    DECODE = "decode"
    UNSUPPORTED = "unsupported"
    NETWORK = "network"
    HTTP = "http"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    QUOTA = "quota"
    PROVIDER = "provider"
    DISK_FULL = "disk_full"
    MODEL = "model"
    CANCELLED = "cancelled"
    INTERNAL = "internal"


# Failures whose cause the user may have fixed since (space freed, network back, a quieter
# provider): a plain `resume` tries these items again; others need `--retry-failed`.
RETRY_ON_RESUME = frozenset(
    {ErrorKind.DISK_FULL, ErrorKind.NETWORK, ErrorKind.TIMEOUT, ErrorKind.RATE_LIMITED}
)


class TranscribeError(Exception):
    """Base of every error the pipeline expects; `transient` says whether a retry may help."""

    transient = False

    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class TransientError(TranscribeError):
    """May succeed if tried again later (network blip, 429, 5xx, timeout)."""

    transient = True


class PermanentError(TranscribeError):
    """Will fail the same way again until the user changes something."""


class Cancelled(PermanentError):
    def __init__(self, message: str = "cancelled by the user"):
        super().__init__(ErrorKind.CANCELLED, message)
