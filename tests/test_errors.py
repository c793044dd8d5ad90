"""Error kinds: which failures a plain resume retries, and how disk full is recognised."""

from __future__ import annotations

import errno
import sqlite3

from bulk_transcribe.errors import (
    RETRY_ON_RESUME,
    ErrorKind,
    PermanentError,
    disk_full,
    is_disk_full,
    retry_on_resume,
)


def test_a_plain_resume_retries_what_the_user_can_fix_outside_the_program() -> None:
    for kind in ("disk_full", "network", "timeout", ErrorKind.RATE_LIMITED):
        assert retry_on_resume(kind), kind
    for kind in ("decode", "not_found", "auth", "http", "blocked", "internal", None):
        assert not retry_on_resume(kind), kind
    assert ErrorKind.DISK_FULL in RETRY_ON_RESUME


def test_disk_full_is_recognised_however_it_is_wrapped() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("ERROR: unable to write data") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer)
    assert is_disk_full(Exception("[Errno 28] No space left on device: 'x.part'"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))


def test_the_disk_full_error_says_what_needed_the_space_and_what_to_do() -> None:
    error = disk_full("writing notes.md")
    assert isinstance(error, PermanentError) and error.kind is ErrorKind.DISK_FULL
    assert error.message == (
        "disk full while writing notes.md: free some space (or choose another --out), "
        "then resume the session"
    )


def test_every_typed_error_crosses_a_process_as_itself() -> None:
    """Pickled as a Ray worker's failure is: its class, kind, message and details kept."""
    import pickle

    from bulk_transcribe.errors import Cancelled, ModelFailure, ModelPart, TruncatedMedia

    errors = [
        PermanentError(ErrorKind.INVALID_INPUT, "no such file", retry_after=None),
        TruncatedMedia("https://example.org/a.mp3", 1000, 1.5, 60.0),
        ModelFailure(ModelPart.DEVICE, "cuda", "no CUDA device"),
        Cancelled(),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and vars(copy) == vars(error)
        assert (str(copy), copy.args, copy.transient) == (str(error), error.args, error.transient)
