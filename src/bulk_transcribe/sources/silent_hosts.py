"""Hosts that never answered downloads of two of their links: their other links fail at once
for a while, instead of each waiting out the same timeouts. A host that is down would
otherwise hold a batch for minutes per link (three stalled attempts, then the run's retries),
hours for a long list; those items fail as timeouts, which a resume tries again. One silent
link is not enough: a host may hang on one path and serve the rest."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from bulk_transcribe.errors import ErrorKind, TransientError
from bulk_transcribe.redact import redact_url

SILENT_FOR_SECONDS = 5 * 60  # how long a host that never answered is not asked again
SILENT_LINKS = 2  # links of a host that got no answer before the host counts as silent

_silent: dict[str, tuple[set[str], float]] = {}  # host:port -> (links unanswered, when last)
_lock = threading.Lock()


def refuse_if_silent(url: str) -> None:
    """Raise TransientError(TIMEOUT) when `url`'s host lately left links unanswered."""
    host = _host(url)
    with _lock:
        links, since = _silent.get(host, (set(), 0.0))
        if links and time.monotonic() - since > SILENT_FOR_SECONDS:
            del _silent[host]
            links = set()
    if len(links) >= SILENT_LINKS:
        raise TransientError(
            ErrorKind.TIMEOUT,
            f"{redact_url(url)}: {host} sent nothing for {len(links)} other links a moment "
            "ago; not asked again for a few minutes: resume later",
        )


def remember_silent(url: str) -> None:
    """A download of `url` got not one status line in any try."""
    host = _host(url)
    with _lock:
        links, _ = _silent.get(host, (set(), 0.0))
        _silent[host] = ({*links, url}, time.monotonic())


def forget_silent(url: str) -> None:
    """The host answered: it is not silent (any more)."""
    with _lock:
        _silent.pop(_host(url), None)


def _host(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1].lower()
