"""Typed errors whose messages tell a user what went wrong and what to do."""

from __future__ import annotations

import errno
import sqlite3
from enum import StrEnum
from typing import Any


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
    # The output folder cannot be written (read-only, no permission, removed): fixed outside.
    UNWRITABLE = "unwritable"
    DATABASE = "database"  # the session database cannot be opened or written
    BLOCKED = "blocked"  # a link to an address the user has not allowed (private networks)
    MODEL = "model"
    CANCELLED = "cancelled"
    INTERNAL = "internal"


# Failures whose cause the user may have fixed since (space freed, network back, a quieter
# provider): a plain `resume` tries these items again; others need `--retry-failed`. Bad
# links, bad media and refused credentials stay failed until then.
RETRY_ON_RESUME = frozenset(
    {
        ErrorKind.DISK_FULL,
        ErrorKind.UNWRITABLE,
        ErrorKind.NETWORK,
        ErrorKind.TIMEOUT,
        ErrorKind.RATE_LIMITED,
    }
)
# errno values that mean "no room to write": a full disk, or the user's quota on it.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = "database or disk is full"
DISK_FULL_ADVICE = "free some space (or choose another --out), then resume the session"


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

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle by calling the class with their args, which these __init__s do
        # not take; rebuilt from their attributes instead, so one crosses a process (a Ray
        # worker's model failure) as itself.
        return _rebuilt, (type(self), self.args, dict(self.__dict__))


def _rebuilt(cls: type[TranscribeError], args: tuple, state: dict[str, Any]) -> TranscribeError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class TransientError(TranscribeError):
    """May succeed if tried again later (network blip, 429, 5xx, timeout)."""

    transient = True


class PermanentError(TranscribeError):
    """Will fail the same way again until the user changes something."""


class TruncatedMedia(TransientError):
    """A file holds clearly less audio than its own header declares: a download cut short
    (a server that announced a shorter length than its file, or closed early). A network
    failure, so a retry or a plain `resume` downloads it again."""

    def __init__(self, source: str, size: int, held: float, declared: float | None):
        lasts = f"says it lasts {_length(declared)}" if declared else "stops mid-stream"
        super().__init__(
            ErrorKind.NETWORK,
            f"{source}: the server sent {size:,} bytes of a file that {lasts} (only "
            f"{_length(held)} arrived): the download was cut short; try again later "
            "(a plain `resume` retries it)",
        )
        self.size, self.held, self.declared = size, held, declared


def _length(seconds: float) -> str:
    """4.2 s, or 1:02:03 / 4:05 for a recording's length."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ModelPart(StrEnum):
    """What a model failure is about, named as the option that chose it: a failed item's
    stored message begins with it (`--device cuda: ...`), so a view reading the message back
    (model_part_of) knows which choice to change. The compute type has no flag: its setting."""

    SPEECH = "--model"
    DEVICE = "--device"
    COMPUTE_TYPE = "compute type"
    SPEAKERS = "--speakers"
    SPEAKER_OVERLAP = "--speaker-overlap"


class ModelFailure(PermanentError):
    """A model every item needs cannot be used (kind MODEL): the speech model, the device or
    compute type it runs with, or a speaker-label model. `choice` is what was asked for
    (the model's name, "cuda", "float16"), shown after the option."""

    def __init__(self, part: ModelPart, choice: str | None, message: str):
        named = f"{part.value} {choice}" if choice else part.value
        if not message.startswith(named):
            message = f"{named}: {message}"
        super().__init__(ErrorKind.MODEL, message)
        self.part = part


def model_part_of(message: str | None) -> ModelPart | None:
    """Which choice a stored MODEL error's message is about (ModelFailure), if it says."""
    for part in sorted(ModelPart, key=lambda p: len(p.value), reverse=True):
        if message and message.startswith((f"{part.value} ", f"{part.value}:")):
            return part
    return None


class Cancelled(PermanentError):
    def __init__(self, message: str = "cancelled by the user"):
        super().__init__(ErrorKind.CANCELLED, message)


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or anything it was raised from, means the disk (or quota) is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, TranscribeError) and exc.kind is ErrorKind.DISK_FULL:
            return True
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return True
        if isinstance(exc, sqlite3.OperationalError) and _SQLITE_FULL in str(exc).lower():
            return True
        if "no space left on device" in str(exc).lower():  # wrapped as text, e.g. by yt-dlp
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full(doing: str) -> PermanentError:
    """The one disk-full error: `doing` says what needed the space, e.g. "writing notes.md"."""
    return PermanentError(ErrorKind.DISK_FULL, f"disk full while {doing}: {DISK_FULL_ADVICE}")


def retry_on_resume(kind: str | None) -> bool:
    """Whether an item that failed with `kind` is tried again by a plain `resume`."""
    return kind in RETRY_ON_RESUME
