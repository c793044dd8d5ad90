"""Searching YouTube without a key: yt-dlp's YouTube search (`ytsearchN:`, and results URLs
with YouTube's own sort for date and views, as yt-dlp no longer has `ytsearchdateN:`).

Flat results carry title, channel, duration, views and thumbnails; the date is approximate
("3 weeks ago") and whether captions exist is unknown until a video is opened.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from bulk_transcribe.addresses import AddressPolicy, connections_checked
from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.research.candidates import Candidate, Order, VideoQuery, take
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import ytdlp
from bulk_transcribe.sources.youtube_links import is_video_id, watch_url

# Filters drop results after the search, so ask for more than wanted; yt-dlp pages lazily
# and stops as soon as enough have passed.
OVERFETCH = 5
MAX_FETCH = 500

YoutubeDLFactory = Callable[[dict[str, Any]], Any]


def default_factory(options: dict[str, Any]) -> Any:
    import yt_dlp  # costs most of a second: only when searching

    return yt_dlp.YoutubeDL(options)


# YouTube's search filter parameter ("sp"): sorted by upload date or by views, videos only.
SORTED_BY = {Order.DATE: "CAISAhAB", Order.VIEWS: "CAMSAhAB"}


def search_url(query: VideoQuery, count: int) -> str:
    if query.order in SORTED_BY:  # a results page, paged lazily until enough are taken
        params = {"search_query": query.text.strip(), "sp": SORTED_BY[query.order]}
        return f"https://www.youtube.com/results?{urlencode(params)}"
    return f"ytsearch{count}:{query.text.strip()}"


def search_videos(
    query: VideoQuery, settings: Settings, build: YoutubeDLFactory | None = None
) -> list[Candidate]:
    from yt_dlp.utils import YoutubeDLError

    build = build or default_factory
    filtered = any(v is not None for v in (query.min_duration, query.max_duration, query.after))
    count = min(MAX_FETCH, query.limit * OVERFETCH) if filtered else query.limit  # looked at
    url = search_url(query, count)
    options = {
        **ytdlp.base_options(settings),
        "extract_flat": "in_playlist",
        "lazy_playlist": True,
        "noplaylist": False,
        # No home page visit before searching; dates from "3 weeks ago" texts.
        "extractor_args": {"youtubetab": {"skip": ["webpage"], "approximate_date": [""]}},
    }
    ydl = build(options)  # tests pass one whose HTTP answers are recorded
    # Every connection yt-dlp opens passes the address policy, as for any yt-dlp use.
    policy = AddressPolicy.from_settings(settings)
    try:
        with connections_checked(policy, settings.proxy):
            info = ydl.extract_info(url, download=False) or {}
            entries = itertools.islice(info.get("entries") or (), count)
            found = take(_candidates(entries, query), query)
    except YoutubeDLError as exc:
        raise ytdlp.map_error(exc, f"YouTube search {query.text!r}") from exc
    except TranscribeError:
        raise
    finally:
        ydl.close()
    return found


def _candidates(entries: Any, query: VideoQuery) -> Iterator[Candidate]:
    for entry in entries:
        if entry and is_video_id(str(entry.get("id", ""))):
            yield candidate_from_entry(entry, query.text)


def candidate_from_entry(entry: dict[str, Any], found_by: str = "") -> Candidate:
    stamp = entry.get("timestamp")
    published = (
        datetime.fromtimestamp(stamp, tz=UTC).date() if isinstance(stamp, int | float) else None
    )
    thumbnails = [t for t in entry.get("thumbnails") or [] if t.get("url")]
    duration = entry.get("duration")
    views = entry.get("view_count")
    return Candidate(
        video_id=entry["id"],
        url=watch_url(entry["id"]),
        title=entry.get("title") or entry["id"],
        channel=entry.get("channel") or entry.get("uploader"),
        duration=float(duration) if isinstance(duration, int | float) else None,
        published=published,
        published_approximate=published is not None,
        views=int(views) if isinstance(views, int) else None,
        captions=None,
        thumbnail=thumbnails[-1]["url"] if thumbnails else None,
        description=entry.get("description"),
        found_by=found_by,
    )
