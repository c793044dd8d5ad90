"""Secrets out of everything stored, written or shown.

Links carry credentials (`user:pass@host`, `?api_key=`, `?token=`, signed query strings).
Every URL is scrubbed before it reaches the database, a file or the terminal; the real one
travels in memory with the work it is for (links.py).

Hand-written because no library scrubs credentials out of free text and URLs alike while
keeping every other byte of them as the user typed it (urlencode would re-encode the rest).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
# A query or fragment parameter whose name contains one of these holds a credential.
_SECRET_NAME_PARTS = (
    "key", "token", "secret", "passw", "pwd", "signature", "credential", "auth", "jwt",
    "session",
)  # fmt: skip
_SECRET_NAMES = frozenset({"sig", "pass", "code", "hmac", "hash", "st"})
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s'\"<>`]+")
# C0 and C1 control characters (ESC, BEL, NUL, CSI, …) and the bidi overrides that make a
# title display as something else; tabs and newlines are handled by the callers.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def redact_url(url: str) -> str:
    """`url` without credentials: the password (or a lone user token) and secret parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL: scrub it as text
        return url
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon and user else f"{MASK}@{host}"
    return urlunsplit(
        parts._replace(
            netloc=netloc,
            query=_redact_parameters(parts.query),
            fragment=_redact_parameters(parts.fragment),
        )
    )


def _redact_parameters(text: str) -> str:
    if "=" not in text:
        return text
    pairs = []
    for pair in text.split("&"):
        name, equals, value = pair.partition("=")
        if equals and value and _is_secret_name(unquote(name)):
            value = MASK
        pairs.append(f"{name}{equals}{value}")
    return "&".join(pairs)


def _is_secret_name(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in _SECRET_NAMES or any(part in lowered for part in _SECRET_NAME_PARTS)


def is_redacted(url: str) -> bool:
    return f"{MASK}@" in url or f"={MASK}" in url


def strip_controls(text: str) -> str:
    """`text` without terminal escapes and other control characters (tabs and newlines stay)."""
    return _CONTROLS.sub("", text)


def scrub_text(text: str) -> str:
    """Free text (an error, an event, a title) safe to store and show: URLs scrubbed."""
    return strip_controls(_URL_IN_TEXT.sub(_redact_match, text))


def _redact_match(match: re.Match[str]) -> str:
    url = match.group(0)
    trimmed = url.rstrip(".,;:!?)]}")  # punctuation of the sentence around the link
    return redact_url(trimmed) + url[len(trimmed) :]


def clean_title(title: str | None) -> str | None:
    """A title for one line of a table, a heading or a file name: no controls, no secrets."""
    if title is None:
        return None
    text = unicodedata.normalize("NFC", scrub_text(title))
    return " ".join(text.split()) or None


def scrub(value: Any) -> Any:
    """Every string inside `value` (dicts, lists) scrubbed; other values unchanged."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


class ScrubbingFilter(logging.Filter):
    """Scrubs the secrets out of a library's log lines (httpx logs every URL it requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_text(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


def scrub_library_logs(*names: str) -> None:
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubbingFilter) for f in logger.filters):
            logger.addFilter(ScrubbingFilter())


scrub_library_logs("httpx", "openai")  # they log the URLs they request, credentials included
