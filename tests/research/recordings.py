"""YouTube search as recorded, in its documented shapes, for real yt-dlp and a real HTTP client.

- InnerTube: what `POST https://www.youtube.com/youtubei/v1/search` answers (videoRenderer
  items in itemSectionRenderer, a continuationItemRenderer for the next page). A yt-dlp
  request handler answers yt-dlp's own requests with it, so yt-dlp's real YouTube search
  extractor parses it exactly as it parses live answers, and nothing reaches the network.
- Data API v3: search.list and videos.list JSON, served over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from yt_dlp.networking.common import RequestHandler, Response

from tests.fakes.base import FakeProviderServer, Reply, Request


@dataclass(frozen=True)
class Video:
    video_id: str
    title: str
    channel: str
    seconds: int
    views: int
    published: str  # ISO day, e.g. 2024-03-05
    ago: str  # what a search result page says, e.g. "3 weeks ago"
    captions: bool = True
    description: str = ""


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# --- InnerTube (yt-dlp without a key) ------------------------------------------------------


def video_renderer(video: Video) -> dict[str, Any]:
    channel_id = "UC" + (video.channel.replace(" ", "") * 4)[:22]
    byline = {
        "runs": [
            {
                "text": video.channel,
                "navigationEndpoint": {
                    "browseEndpoint": {"browseId": channel_id, "canonicalBaseUrl": "/@chan"}
                },
            }
        ]
    }
    return {
        "videoId": video.video_id,
        "thumbnail": {
            "thumbnails": [
                {"url": f"https://i.ytimg.com/vi/{video.video_id}/hq720.jpg", "width": 360,
                 "height": 202},
            ]
        },
        "title": {"runs": [{"text": video.title}]},
        "descriptionSnippet": {"runs": [{"text": video.description}]},
        "longBylineText": byline,
        "ownerText": byline,
        "shortBylineText": byline,
        "publishedTimeText": {"simpleText": video.ago},
        "lengthText": {"simpleText": _clock(video.seconds)},
        "viewCountText": {"simpleText": f"{video.views:,} views"},
        "navigationEndpoint": {
            "commandMetadata": {"webCommandMetadata": {"url": f"/watch?v={video.video_id}"}},
            "watchEndpoint": {"videoId": video.video_id},
        },
    }  # fmt: skip


def _section(videos: list[Video], token: str | None) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = [
        {
            "itemSectionRenderer": {
                "contents": [{"videoRenderer": video_renderer(v)} for v in videos]
            }
        }
    ]
    if token:
        command = {"token": token, "request": "CONTINUATION_REQUEST_TYPE_SEARCH"}
        renderer = {
            "trigger": "CONTINUATION_TRIGGER_ON_ITEM_SHOWN",
            "continuationEndpoint": {"continuationCommand": command},
        }
        contents.append({"continuationItemRenderer": renderer})
    return contents


def first_page(videos: list[Video], token: str | None) -> dict[str, Any]:
    return {
        "estimatedResults": "1000",
        "contents": {
            "twoColumnSearchResultsRenderer": {
                "primaryContents": {"sectionListRenderer": {"contents": _section(videos, token)}}
            }
        },
    }


def next_page(videos: list[Video], token: str | None) -> dict[str, Any]:
    return {
        "onResponseReceivedCommands": [
            {"appendContinuationItemsAction": {"continuationItems": _section(videos, token)}}
        ]
    }


@dataclass
class InnerTubeSearch:
    """Answers search queries page by page; records what yt-dlp asked."""

    results: dict[str, list[Video]]  # query -> every result, in YouTube's order
    page_size: int = 4
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        if "continuation" in body:
            query, _, offset = body["continuation"].rpartition("@")
            start = int(offset)
        else:
            query, start = body["query"], 0
        videos = self.results.get(query, [])
        page = videos[start : start + self.page_size]
        after = start + self.page_size
        token = f"{query}@{after}" if after < len(videos) else None
        return (next_page if start else first_page)(page, token)


class RecordedInnerTubeRH(RequestHandler):
    """A yt-dlp request handler that answers from recordings; anything else is a 404."""

    _SUPPORTED_URL_SCHEMES = ("https", "http")
    _SUPPORTED_PROXY_SCHEMES = None
    _SUPPORTED_FEATURES = None
    search: InnerTubeSearch | None = None

    def _check_extensions(self, extensions: dict[str, Any]) -> None:
        extensions.clear()  # accepts whatever options yt-dlp passes; it answers from memory

    def _send(self, request) -> Response:
        url = request.url
        if "/youtubei/v1/search" in url and self.search is not None:
            answer = self.search.answer(json.loads(request.data or b"{}"))
            body, status = json.dumps(answer).encode(), 200
        else:
            body, status = b'{"error": "not recorded"}', 404
        return Response(io.BytesIO(body), url, {"Content-Type": "application/json"}, status=status)


def recorded_ytdlp(search: InnerTubeSearch):
    """A YoutubeDL factory for `search_videos`: real yt-dlp, recorded YouTube."""
    import yt_dlp

    def build(options: dict[str, Any]) -> yt_dlp.YoutubeDL:
        ydl = yt_dlp.YoutubeDL(options)
        director = ydl._request_director
        director.handlers.clear()  # no real handler: nothing can reach the network
        handler = RecordedInnerTubeRH(logger=director.logger)
        handler.search = search
        director.add_handler(handler)
        return ydl

    return build


# --- the Data API (with a key) ---------------------------------------------------------------


class FakeDataApi(FakeProviderServer):
    """search.list and videos.list at {url}/youtube/v3, paging with nextPageToken."""

    def __init__(self, results: dict[str, list[Video]], key: str = "yt-test-key", **knobs):
        super().__init__(**knobs)
        self.results = results
        self.key = key
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.by_id = {v.video_id: v for videos in results.values() for v in videos}
        self.fail_with: Reply | None = None

    @property
    def base_url(self) -> str:
        return f"{self.url}/youtube/v3"

    def route(self, request: Request) -> Reply:
        path = request.path
        params = {k: v[0] for k, v in parse_qs(request.query).items()}
        self.seen.append((path, params))
        if self.fail_with is not None:
            return self.fail_with
        if request.headers.get("x-goog-api-key") != self.key:
            return Reply(400, _error(400, "API key not valid. Please pass a valid API key.",
                                     "keyInvalid"))  # fmt: skip
        if path == "/youtube/v3/search":
            return Reply(200, self._search(params))
        if path == "/youtube/v3/videos":
            return Reply(200, self._videos(params))
        return Reply(404, _error(404, "Not Found", "notFound"))

    def _search(self, params: dict[str, str]) -> dict[str, Any]:
        videos = list(self.results.get(params["q"], []))
        if params.get("order") == "date":
            videos.sort(key=lambda v: v.published, reverse=True)
        elif params.get("order") == "viewCount":
            videos.sort(key=lambda v: -v.views)
        if "publishedAfter" in params:
            videos = [v for v in videos if v.published >= params["publishedAfter"][:10]]
        size = int(params.get("maxResults", 5))
        start = int(params.get("pageToken", "0") or 0)
        page = videos[start : start + size]
        answer: dict[str, Any] = {
            "kind": "youtube#searchListResponse",
            "etag": "recorded",
            "regionCode": "US",
            "pageInfo": {"totalResults": len(videos), "resultsPerPage": size},
            "items": [
                {
                    "kind": "youtube#searchResult",
                    "etag": "recorded",
                    "id": {"kind": "youtube#video", "videoId": v.video_id},
                    "snippet": _snippet(v),
                }
                for v in page
            ],
        }
        if start + size < len(videos):
            answer["nextPageToken"] = str(start + size)
        return answer

    def _videos(self, params: dict[str, str]) -> dict[str, Any]:
        ids = params["id"].split(",")
        return {
            "kind": "youtube#videoListResponse",
            "etag": "recorded",
            "items": [
                {
                    "kind": "youtube#video",
                    "etag": "recorded",
                    "id": v.video_id,
                    "snippet": _snippet(v),
                    "contentDetails": {
                        "duration": _iso(v.seconds),
                        "dimension": "2d",
                        "definition": "hd",
                        "caption": "true" if v.captions else "false",
                        "licensedContent": True,
                        "projection": "rectangular",
                    },
                    "statistics": {
                        "viewCount": str(v.views),
                        "likeCount": "10",
                        "favoriteCount": "0",
                        "commentCount": "2",
                    },
                }
                for v in (self.by_id[i] for i in ids if i in self.by_id)
            ],
            "pageInfo": {"totalResults": len(ids), "resultsPerPage": len(ids)},
        }


def _snippet(video: Video) -> dict[str, Any]:
    thumb = f"https://i.ytimg.com/vi/{video.video_id}"
    return {
        "publishedAt": f"{video.published}T14:00:00Z",
        "channelId": "UCrecorded",
        "title": video.title,
        "description": video.description,
        "thumbnails": {
            "default": {"url": f"{thumb}/default.jpg", "width": 120, "height": 90},
            "medium": {"url": f"{thumb}/mqdefault.jpg", "width": 320, "height": 180},
            "high": {"url": f"{thumb}/hqdefault.jpg", "width": 480, "height": 360},
        },
        "channelTitle": video.channel,
        "liveBroadcastContent": "none",
        "publishTime": f"{video.published}T14:00:00Z",
    }


def _iso(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + f"{secs}S"


def _error(code: int, message: str, reason: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
    }


def solar_videos() -> list[Video]:
    """Ten results for "solar panels", of many lengths and ages."""
    table = """
        sol00000001|How solar panels work|Energy Explained|742|1200000|2023-05-01|1 year ago
        sol00000002|Solar panel installation guide|DIY Home|1880|85000|2024-09-10|2 months ago
        sol00000003|Are solar panels worth it?|Money Matters|95|3400000|2022-01-15|2 years ago
        sol00000004|Perovskite cells: the next step|Science Today|2710|41000|2024-10-20|5 weeks ago
        sol00000005|Solar farm tour|Field Trips|3725|9000|2021-06-30|3 years ago
        sol00000006|Cleaning solar panels|DIY Home|300|500000|2024-11-01|3 weeks ago
        sol00000007|Solar vs wind|Energy Explained|1200|760000|2023-11-11|1 year ago
        sol00000008|Inverters explained|Science Today|615|33000|2024-03-03|8 months ago
        sol00000009|Solar panel recycling|Green Future|1500|12000|2024-07-07|4 months ago
        sol00000010|Off-grid cabin power|Field Trips|2200|150000|2023-02-02|1 year ago
    """
    rows = [line.strip().split("|") for line in table.strip().splitlines()]
    return [
        Video(i, t, c, int(s), int(v), p, a, captions=n % 3 != 0, description=f"About {t}.")
        for n, (i, t, c, s, v, p, a) in enumerate(rows)
    ]
