"""Checking links before a run spends credits on them: does each media link answer at all?

Only direct media links and feeds are asked (one HEAD request each, or a one-byte GET for
servers that refuse HEAD); YouTube is not asked here, since it rate-limits listings and is
checked when an item runs. Nothing is downloaded and no provider is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from bulk_transcribe import net
from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.errors import PermanentError
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.settings import Settings

CHECKED_TYPES = (SourceType.HTTP_MEDIA, SourceType.PODCAST_FEED, SourceType.WEB_PAGE)
TIMEOUT_SECONDS = 10.0
AT_ONCE = 8


@dataclass(frozen=True)
class LinkCheck:
    source: str
    ok: bool | None  # None: not checked (YouTube, local files)
    detail: str


def check_links(
    specs: Sequence[ItemSpec], settings: Settings, *, timeout: float = TIMEOUT_SECONDS
) -> list[LinkCheck]:
    """One result per spec, in order; never raises for a bad link. Links the address policy
    forbids are refused unasked (a web app's visitors must not probe the server's networks)."""
    with (
        net.guarded_client(
            AddressPolicy.from_settings(settings),
            proxy=settings.proxy,
            timeout=timeout,
            follow_redirects=True,
            headers={"Range": "bytes=0-0"},
        ) as client,
        ThreadPoolExecutor(max_workers=AT_ONCE) as pool,
    ):
        return list(pool.map(lambda spec: _check(client, spec), specs))


def _check(client: httpx.Client, spec: ItemSpec) -> LinkCheck:
    if spec.source_type not in CHECKED_TYPES:
        return LinkCheck(spec.source, None, "checked when it runs")
    try:
        response = client.head(spec.source)
        if response.status_code in (403, 405, 501):  # some servers answer only GET
            with client.stream("GET", spec.source) as streamed:
                response = streamed
    except PermanentError as exc:  # refused by the address policy: nothing was sent
        return LinkCheck(spec.source, False, f"not checked: {exc.message}")
    except httpx.HTTPError as exc:
        return LinkCheck(spec.source, False, f"no answer: {type(exc).__name__}")
    if response.status_code >= 400:
        return LinkCheck(spec.source, False, f"HTTP {response.status_code}")
    kind = response.headers.get("content-type", "").split(";")[0] or "unknown type"
    return LinkCheck(spec.source, True, f"answers ({kind})")
