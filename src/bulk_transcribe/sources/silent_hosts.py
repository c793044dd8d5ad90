"""Hosts that took connections (or not) but never answered a download: their other links fail
at once for a while, instead of each waiting out the same timeouts. A host that is down
would otherwise hold a batch for minutes per link (three stalled attempts, then the run's
retries), hours for a long list; those items fail as timeouts, which a resume tries again."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from bulk_transcribe.errors import ErrorKind, TransientError
from bulk_transcribe.redact import redact_url

SILENT_FOR_SECONDS = 5 * 60  # how long a host that never answered is not asked again

_silent_since: dict[str, float] = {}  # host:port -> when its last download got no answer
_lock = threading.Lock()


def refuse_if_silent(url: str) -> None:
    """Raise TransientError(TIMEOUT) when `url`'s host never answered a download lately."""
    host = _host(url)
    with _lock:
        since = _silent_since.get(host)
        if since is not None and time.monotonic() - since > SILENT_FOR_SECONDS:
            del _silent_since[host]
            since = None
    if since is not None:
        raise TransientError(
            ErrorKind.TIMEOUT,
            f"{redact_url(url)}: {host} sent nothing for another link a moment ago; not asked "
            "again for a few minutes: resume later",
        )


def remember_silent(url: str) -> None:
    with _lock:
        _silent_since[_host(url)] = time.monotonic()


def forget_silent(url: str) -> None:
    """The host answered: it is not silent (any more)."""
    host = _host(url)
    with _lock:
        _silent_since.pop(host, None)


def _host(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1].lower()
