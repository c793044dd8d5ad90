"""Searching with the YouTube Data API v3: search.list finds videos, videos.list adds their
duration, captions flag and statistics. Needs a key; pages until enough results pass.

The key travels in the X-goog-api-key header, never in a URL, so no error or log shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx

from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.errors import ErrorKind, PermanentError, TransientError
from bulk_transcribe.net import GuardedTransport
from bulk_transcribe.research.candidates import Candidate, Order, VideoQuery, take
from bulk_transcribe.sources.youtube_links import watch_url

DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
PAGE_SIZE = 50  # the most search.list and videos.list take at once
MAX_PAGES = 10  # each search.list page costs 100 quota units of the default 10,000 a day
_ORDERS = {Order.RELEVANCE: "relevance", Order.DATE: "date", Order.VIEWS: "viewCount"}
_ISO_DURATION = re.compile(
    r"P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


class DataApiSearch:
    """One client per search session; close it (or use `with`)."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        policy: AddressPolicy | None = None,
    ):
        # The configured API base may be anywhere; where it redirects, the policy rules.
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"X-goog-api-key": api_key},
            timeout=timeout,
            transport=transport or GuardedTransport(policy or AddressPolicy(), trusted=[base_url]),
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> DataApiSearch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, query: VideoQuery) -> list[Candidate]:
        return take(self._pages(query), query)

    def _pages(self, query: VideoQuery) -> Iterator[Candidate]:
        token: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {
                "part": "snippet",
                "type": "video",
                "q": query.text.strip(),
                "maxResults": PAGE_SIZE if _filtered(query) else min(PAGE_SIZE, query.limit),
                "order": _ORDERS[query.order],
            }
            if query.after:
                params["publishedAfter"] = f"{query.after.isoformat()}T00:00:00Z"
            if token:
                params["pageToken"] = token
            page = self._get("search", params)
            ids = [
                item["id"]["videoId"]
                for item in page.get("items", [])
                if item.get("id", {}).get("videoId")
            ]
            yield from self._details(ids, query.text)
            token = page.get("nextPageToken")
            if not token:
                return

    def _details(self, ids: list[str], found_by: str) -> list[Candidate]:
        if not ids:
            return []
        page = self._get(
            "videos", {"part": "snippet,contentDetails,statistics", "id": ",".join(ids)}
        )
        by_id = {video["id"]: video for video in page.get("items", [])}
        # videos.list leaves out videos deleted since the search; keep the search's order.
        return [candidate_from_video(by_id[i], found_by) for i in ids if i in by_id]

    def _get(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.get(endpoint, params=params)
        except httpx.TimeoutException as exc:
            raise TransientError(
                ErrorKind.NETWORK, "the YouTube Data API did not answer in time; try again"
            ) from exc
        except httpx.TransportError as exc:
            raise TransientError(
                ErrorKind.NETWORK,
                f"cannot reach the YouTube Data API ({type(exc).__name__}); check the connection",
            ) from exc
        if response.status_code >= 400:
            raise api_error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(
                ErrorKind.PROVIDER, "the YouTube Data API answered with something not JSON"
            ) from exc


def api_error(response: httpx.Response) -> PermanentError | TransientError:
    """Google's error body names a reason; turn the usual ones into advice."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    reasons = {e.get("reason") for e in error.get("errors", []) if isinstance(e, dict)}
    message = error.get("message") or response.reason_phrase
    if reasons & {"quotaExceeded", "dailyLimitExceeded"}:
        return PermanentError(
            ErrorKind.RATE_LIMITED,
            "the YouTube Data API quota for this key is used up for today (each search costs "
            "100 units of 10,000); search without a key meanwhile, or try tomorrow",
        )
    if reasons & {"rateLimitExceeded", "userRateLimitExceeded"} or response.status_code == 429:
        return TransientError(
            ErrorKind.RATE_LIMITED, "the YouTube Data API asks to slow down; try again shortly"
        )
    if response.status_code in (400, 403) and (
        reasons & {"keyInvalid", "badRequest", "forbidden", "accessNotConfigured"}
        or "API key" in str(message)
    ):
        return PermanentError(
            ErrorKind.AUTH,
            f"the YouTube Data API refused the key ({message}); check YOUTUBE_API_KEY and that "
            "the YouTube Data API v3 is enabled for its project",
        )
    if response.status_code >= 500:
        return TransientError(
            ErrorKind.PROVIDER, f"the YouTube Data API failed ({response.status_code}); try again"
        )
    return PermanentError(ErrorKind.PROVIDER, f"the YouTube Data API said: {message}")


def candidate_from_video(video: dict[str, Any], found_by: str = "") -> Candidate:
    snippet = video.get("snippet", {})
    details = video.get("contentDetails", {})
    statistics = video.get("statistics", {})
    thumbnails = snippet.get("thumbnails", {})
    thumbnail = next(
        (thumbnails[k]["url"] for k in ("medium", "high", "default") if k in thumbnails), None
    )
    views = statistics.get("viewCount")
    return Candidate(
        video_id=video["id"],
        url=watch_url(video["id"]),
        title=snippet.get("title") or video["id"],
        channel=snippet.get("channelTitle"),
        duration=parse_iso_duration(details.get("duration")),
        published=_day(snippet.get("publishedAt")),
        views=int(views) if views is not None and str(views).isdigit() else None,
        captions={"true": True, "false": False}.get(str(details.get("caption", "")).lower()),
        thumbnail=thumbnail,
        description=snippet.get("description"),
        found_by=found_by,
    )


def parse_iso_duration(text: str | None) -> float | None:
    """ISO 8601 durations as the API writes them: PT1H2M3S, P1DT2H, PT45S (P0D for live)."""
    if not text:
        return None
    found = _ISO_DURATION.fullmatch(text)
    if not found:
        return None
    parts = {k: int(v) for k, v in found.groupdict().items() if v}
    return float(
        parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


def _filtered(query: VideoQuery) -> bool:
    return query.min_duration is not None or query.max_duration is not None


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None
