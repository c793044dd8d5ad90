"""The link inside a redirect wrapper that mail, search and chat put around a copied link.

A list pasted from Outlook has every link wrapped in SafeLinks ("…safelinks.protection.
outlook.com/?url=https%3A%2F%2F…&data=<the reader's address>…"); one copied from Google's
results or Facebook is wrapped alike. Fetched as it is, the wrapper answers with a page, and
its query carries the reader's address and tokens into the session. The wrapped link is
written in the wrapper itself, so it is taken from there: no request is needed.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# (host, path) pattern -> the query parameter holding the real link.
_WRAPPERS: tuple[tuple[re.Pattern[str], re.Pattern[str], str], ...] = (
    (re.compile(r"(^|\.)safelinks\.protection\.outlook\.com$"), re.compile(r"^/?$"), "url"),
    (re.compile(r"^(www\.)?google\.[a-z]{2,3}(\.[a-z]{2})?$"), re.compile(r"^/url$"), "q"),
    (re.compile(r"^(www\.)?google\.[a-z]{2,3}(\.[a-z]{2})?$"), re.compile(r"^/url$"), "url"),
    (re.compile(r"^(l|lm)\.facebook\.com$"), re.compile(r"^/l\.php$"), "u"),
    (re.compile(r"^l\.messenger\.com$"), re.compile(r"^/l\.php$"), "u"),
    (re.compile(r"^l\.instagram\.com$"), re.compile(r"^/?$"), "u"),
    (re.compile(r"^(www\.)?youtube\.com$"), re.compile(r"^/redirect$"), "q"),
    (re.compile(r"^(www\.)?linkedin\.com$"), re.compile(r"^/redir/redirect$"), "url"),
    (re.compile(r"^(www\.)?duckduckgo\.com$"), re.compile(r"^/l/?$"), "uddg"),
    (re.compile(r"^slack-redir\.net$"), re.compile(r"^/link$"), "url"),
)
_WEB_LINK = re.compile(r"^https?://", re.IGNORECASE)
_MAX_LAYERS = 3  # a wrapped link wrapped again (SafeLinks around a Google result)


def unwrap_redirect(url: str) -> str:
    """The link `url` wraps, when it is a known redirect wrapper holding an http(s) link;
    `url` itself otherwise."""
    for _ in range(_MAX_LAYERS):
        inner = _wrapped(url)
        if inner is None:
            return url
        url = inner
    return url


def _wrapped(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    query = parse_qs(parts.query)
    for host_pattern, path_pattern, parameter in _WRAPPERS:
        if host_pattern.search(host) and path_pattern.match(parts.path):
            inner = (query.get(parameter) or [""])[0].strip()
            if _WEB_LINK.match(inner) and not any(ch.isspace() for ch in inner):
                return inner
    return None
