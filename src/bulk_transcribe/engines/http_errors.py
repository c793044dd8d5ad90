"""Provider HTTP failures as typed errors with messages a user can act on, secrets scrubbed."""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import httpx

from bulk_transcribe.errors import ErrorKind, PermanentError, TranscribeError, TransientError

MAX_DETAIL_CHARS = 300
# Bearer tokens and key-shaped strings a provider might echo back in an error body.
_TOKEN_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)\S+"),
    re.compile(r"\b(sk|gsk|pk|key)-[A-Za-z0-9_\-]{6,}"),
)
REDACTED = "[redacted]"


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every secret and anything that looks like an API key replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _TOKEN_PATTERNS[0].sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_PATTERNS[1].sub(REDACTED, text)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or an HTTP
    date). The one parser every engine and the rate limiter use; a value that is neither a
    number nor a date (`soon`) is ignored, never an error."""
    if not isinstance(headers, httpx.Headers):
        headers = {name.lower(): value for name, value in headers.items()}
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive one is read as such
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# "1s", "6m0s", "1h2m3.5s", "250ms" (OpenAI, Groq) or plain seconds ("20", "0.5").
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|h|m|s))+|\d+(?:\.\d+)?")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def reset_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds until a rate-limit reset header says the window resets: a duration ("6m0s",
    "250ms", "20") or a timestamp (RFC 3339, as some gateways send); None for anything else.
    Never raises: the header arrives on answers already paid for."""
    text = (value or "").strip()
    if not text:
        return None
    if _DURATION.fullmatch(text):
        if not _DURATION_PART.search(text):
            return float(text)
        return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_of_429(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """How long a 429 asks to wait: its Retry-After, else the reset of the limit its
    x-ratelimit-* headers say is used up (OpenAI and Groq send those, often without a
    Retry-After), else the requests limit's reset."""
    if not isinstance(headers, httpx.Headers):
        headers = httpx.Headers(headers)
    asked = parse_retry_after(headers, now)
    if asked is not None:
        return asked
    resets = [
        reset_seconds(headers.get(f"x-ratelimit-reset-{limit}"), now)
        for limit in ("requests", "tokens")
        if (headers.get(f"x-ratelimit-remaining-{limit}") or "").strip() == "0"
    ]
    known = [r for r in resets if r is not None]
    if known:
        return max(known)
    return reset_seconds(headers.get("x-ratelimit-reset-requests"), now)


def _number(value: str | None) -> float | None:
    """A non-negative, finite number of seconds, or None."""
    if not value:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return max(0.0, number) if math.isfinite(number) else None


def error_detail(body: bytes | str | None) -> tuple[str, str | None]:
    """(human message, machine code) from a JSON error body of any common shape."""
    if not body:
        return "", None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return _plain(text)[:MAX_DETAIL_CHARS], None
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or data.get("message") or ""
        code = error.get("code") or error.get("type")
        if isinstance(message, dict | list):
            message = json.dumps(message)
        return str(message)[:MAX_DETAIL_CHARS], str(code) if code else None
    return str(error)[:MAX_DETAIL_CHARS], None


_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_TAG = re.compile(r"(?s)<[^>]*>")


def _plain(text: str) -> str:
    """A proxy's HTML error page as the words it shows: its title, else its text."""
    stripped = text.strip()
    if not stripped.startswith("<"):
        return stripped
    title = _TITLE.search(stripped)
    words = title.group(1) if title else _TAG.sub(" ", stripped)
    return " ".join(words.split())


# Answers that mean "out of credit", not "too fast": waiting never helps, and they say
# nothing about the rate limit. OpenAI's code, and the wording other providers use.
_QUOTA_CODES = frozenset(
    {"insufficient_quota", "insufficient_balance", "billing_hard_limit_reached"}
)
_QUOTA_WORDS = re.compile(
    r"(?i)\b(insufficient|not enough|out of)\s+(quota|balance|credits?|funds)"
)


def is_quota_answer(status: int, detail: str, code: str | None) -> bool:
    """Whether an error answer means the account is out of credit (402, or a 429 that says so)."""
    if status == 402:
        return True
    return status == 429 and (code in _QUOTA_CODES or bool(_QUOTA_WORDS.search(detail)))


def error_for_status(
    provider: str,
    status: int,
    *,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str | None] = (),
    context: str = "",
    key_hint: str = "",
) -> TranscribeError:
    """The typed error for an HTTP error status from `provider`; never contains a secret."""
    detail, code = error_detail(body)
    detail = scrub(detail, secrets)
    said = f" ({detail})" if detail else ""
    where = f"{provider}{f' {context}' if context else ''}"
    retry_after = (retry_after_of_429 if status == 429 else parse_retry_after)(headers or {})
    if status == 401:
        key = key_hint or f"the API key for {provider}"
        return PermanentError(
            ErrorKind.AUTH,
            f"{where} rejected the API key (HTTP 401){said}: check {key} in the environment "
            "or .env",
        )
    if is_quota_answer(status, detail, code):
        return PermanentError(
            ErrorKind.QUOTA,
            f"{where}: out of credit (HTTP {status}){said}: top up the account, then resume",
        )
    if status == 403:
        return PermanentError(
            ErrorKind.AUTH,
            f"{where} refused access (HTTP 403){said}: the key may lack access to this model",
        )
    if status == 404:
        return PermanentError(
            ErrorKind.NOT_FOUND,
            f"{where} answered HTTP 404{said}: check the API base URL and the model name",
        )
    if status == 413:
        return PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{where}: upload too large (HTTP 413){said}: set BULK_TRANSCRIBE_UPLOAD_LIMIT_MB "
            "lower",
        )
    if status in (400, 415, 422):
        return PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{where} could not use this input (HTTP {status}){said}",
        )
    if status == 429:
        wait = f"; retry in {retry_after:.0f} s" if retry_after is not None else ""
        return TransientError(
            ErrorKind.RATE_LIMITED,
            f"{where}: rate limited (HTTP 429){said}{wait}; lower --rpm or --concurrency "
            "if this keeps happening",
            retry_after=retry_after,
        )
    if status in (408, 504):
        return TransientError(
            ErrorKind.TIMEOUT, f"{where} timed out (HTTP {status}){said}", retry_after=retry_after
        )
    if status >= 500:
        return TransientError(
            ErrorKind.PROVIDER,
            f"{where} had a server error (HTTP {status}){said}",
            retry_after=retry_after,
        )
    return PermanentError(ErrorKind.HTTP, f"{where} answered HTTP {status}{said}")


def error_for_response(
    provider: str,
    response: httpx.Response,
    secrets: Iterable[str | None] = (),
    context: str = "",
    key_hint: str = "",
) -> TranscribeError:
    return error_for_status(
        provider,
        response.status_code,
        body=response.content,
        headers=response.headers,
        secrets=secrets,
        context=context,
        key_hint=key_hint,
    )


def error_for_transport(
    provider: str, exc: Exception, secrets: Iterable[str | None] = (), context: str = ""
) -> TranscribeError:
    """Timeouts and network failures; the message names the failure, never the URL or headers."""
    where = f"{provider}{f' {context}' if context else ''}"
    if isinstance(exc, httpx.TimeoutException) or "timeout" in type(exc).__name__.lower():
        return TransientError(ErrorKind.TIMEOUT, f"{where} timed out")
    reason = scrub(f"{type(exc).__name__}: {exc}"[:MAX_DETAIL_CHARS], secrets)
    return TransientError(
        ErrorKind.NETWORK,
        f"could not reach {where} ({reason}); check the network and the API base URL",
    )


def malformed_response(provider: str, what: str, request_id: str | None = None) -> TransientError:
    """A 2xx whose body is not what the protocol promises: usually a proxy or a provider hiccup."""
    ref = f" for request {request_id}" if request_id else ""
    return TransientError(ErrorKind.PROVIDER, f"{provider} sent a malformed response{ref} ({what})")


class UnreadableAnswer(TransientError):
    """A 2xx whose body cannot be read (cut off, not the shape asked for): the provider did
    the work and charges for it, so it is asked for again once at most (retries.py)."""

    paid = True


def unreadable_answer(provider: str, what: str) -> UnreadableAnswer:
    return UnreadableAnswer(
        ErrorKind.PROVIDER,
        f"{provider} answered but its answer could not be read ({what})",
    )


def error_in_answer(provider: str, data: dict) -> TransientError | None:
    """A 2xx carrying an error object instead of the result (some proxies and gateways)."""
    error = data.get("error")
    if not error or data.get("text") is not None or data.get("segments") is not None:
        return None
    detail, _ = error_detail(json.dumps(data))
    return TransientError(
        ErrorKind.PROVIDER, f"{provider} answered with an error ({scrub(detail) or 'no detail'})"
    )
