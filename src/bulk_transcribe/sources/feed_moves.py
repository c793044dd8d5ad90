"""Where a feed moved for good: the end of a chain of permanent redirects (301, 308) from its
address. A show that changes host answers 301 at its old address for a while and then
nothing, so whoever follows it must take the new address while the redirect still says it,
as podcast apps do; a temporary redirect (302, 307: a CDN, a tracker) changes nothing.
"""

from __future__ import annotations

from urllib.parse import urljoin

import httpx

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.settings import SourceSettings
from bulk_transcribe.sources.download import http_client

PERMANENT = frozenset({301, 308})
MAX_HOPS = 5


def moved_for_good(url: str, settings: SourceSettings) -> str | None:
    """The address `url` permanently redirects to, or None when it does not (or cannot be
    asked: reading the feed then says what is wrong). Only headers are read."""
    address = url
    try:
        with http_client(settings) as client:
            for _ in range(MAX_HOPS):
                with client.stream("GET", address, follow_redirects=False) as response:
                    location = response.headers.get("location")
                    if response.status_code not in PERMANENT or not location:
                        break
                    address = urljoin(address, location)
    except (httpx.HTTPError, TranscribeError):
        return None
    return address if address != url else None
