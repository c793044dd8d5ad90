"""The key that decides whether two entries are the same thing to transcribe."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from bulk_transcribe.sources.youtube_links import canonical_youtube_url, is_youtube_host

_TRACKING_PARAMS = frozenset({"fbclid", "gclid"})
# Share-button noise YouTube adds; `t` is a start time, which does not change what is transcribed.
_YOUTUBE_TRACKING_PARAMS = frozenset({"si", "feature", "pp", "t"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_url(url: str) -> str:
    """`url` with case, default port, fragment, trailing slash, tracking and param order removed."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if is_youtube_host(host):
        canonical = canonical_youtube_url(parts)
        if canonical:
            return canonical
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name, host)
    )
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), urlencode(query), ""))


def without_tracking(url: str) -> str:
    """`url` without the tracking parameters a newsletter or a share button added
    (utm_*, fbclid, gclid), everything else as written: an item's link, so the same media
    shared twice is one item to every later session too (their link is what they match)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed: reported as such where it is classified
        return url
    if not parts.query:
        return url
    kept = [
        piece
        for piece in parts.query.split("&")
        if piece and not _is_tracking(unquote_plus(piece.partition("=")[0]), "")
    ]
    return urlunsplit(parts._replace(query="&".join(kept)))


def dedupe_key(source: str) -> str:
    """Same key for the same media: normalised URL, or the file path as given (already resolved)."""
    if "://" in source:
        # http and https name the same media (hosts redirect one to the other): one item,
        # not two downloads and two transcriptions.
        return re.sub(r"^http://", "https://", normalise_url(source))
    return source


def _is_tracking(name: str, host: str) -> bool:
    lowered = name.lower()
    if lowered.startswith("utm_") or lowered in _TRACKING_PARAMS:
        return True
    return is_youtube_host(host) and lowered in _YOUTUBE_TRACKING_PARAMS
