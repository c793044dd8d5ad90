"""Finding videos: real yt-dlp over recorded InnerTube answers without a key, the Data API
over real HTTP with one; filters, order, paging, errors, and what was transcribed marked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError, TranscribeError
from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.research.candidates import Order, VideoQuery
from bulk_transcribe.research.data_api import DataApiSearch, parse_iso_duration
from bulk_transcribe.research.finder import find_videos, mark_transcribed
from bulk_transcribe.research.ytdlp_search import search_videos
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.fakes.base import Reply
from tests.research.recordings import (
    FakeDataApi,
    InnerTubeSearch,
    Video,
    recorded_ytdlp,
    solar_videos,
)

QUERY = "solar panels"
RELEVANCE_PARAMS = "EgIQAfABAQ=="  # yt-dlp's "videos only" search filter
DATE_PARAMS = "CAISAhAB"  # YouTube's own sort: by upload date, videos only
VIEWS_PARAMS = "CAMSAhAB"  # ... by views


@pytest.fixture
def innertube() -> InnerTubeSearch:
    return InnerTubeSearch({QUERY: solar_videos()})


@pytest.fixture
def data_api() -> Iterator[FakeDataApi]:
    many = [
        Video(f"big{n:08d}", f"Talk {n}", "Lectures", 600 + n, n * 10, "2024-01-01", "1 year ago")
        for n in range(120)
    ]
    with FakeDataApi({QUERY: solar_videos(), "lectures": many}) as server:
        yield server


def keyless() -> Settings:
    return Settings(youtube_api_key=None)


# --- yt-dlp (no key) --------------------------------------------------------------------------


def test_ytdlp_search_lists_videos_with_what_the_results_page_shows(innertube) -> None:
    videos = search_videos(VideoQuery(QUERY, limit=6), keyless(), recorded_ytdlp(innertube))
    assert [v.video_id for v in videos] == [f"sol0000000{n}" for n in range(1, 7)]
    first = videos[0]
    assert (first.title, first.channel, first.duration, first.views) == (
        "How solar panels work",
        "Energy Explained",
        742.0,
        1_200_000,
    )
    assert first.url == "https://www.youtube.com/watch?v=sol00000001"
    assert first.thumbnail == "https://i.ytimg.com/vi/sol00000001/hq720.jpg"
    assert first.captions is None  # a results page does not say
    assert first.published is not None and first.published_approximate  # from "1 year ago"
    assert len(innertube.requests) == 2  # four results a page: the second page was fetched
    assert innertube.requests[0]["params"] == RELEVANCE_PARAMS
    assert innertube.requests[1]["continuation"] == f"{QUERY}@4"


def test_ytdlp_search_filters_by_duration_and_date(innertube) -> None:
    query = VideoQuery(QUERY, limit=3, min_duration=600, max_duration=2000)
    videos = search_videos(query, keyless(), recorded_ytdlp(innertube))
    assert [v.title for v in videos] == [
        "How solar panels work",
        "Solar panel installation guide",
        "Solar vs wind",
    ]
    recent = VideoQuery(QUERY, limit=10, after=date.today().replace(year=date.today().year - 1))
    titles = [v.title for v in search_videos(recent, keyless(), recorded_ytdlp(innertube))]
    assert "Solar farm tour" not in titles  # "3 years ago"
    assert "Cleaning solar panels" in titles  # "3 weeks ago"


def test_ytdlp_asks_youtube_to_sort_by_date_or_views(innertube) -> None:
    innertube.results["by date"] = sorted(solar_videos(), key=lambda v: v.published)[::-1]
    newest = search_videos(
        VideoQuery("by date", limit=5, order=Order.DATE), keyless(), recorded_ytdlp(innertube)
    )
    assert innertube.requests[0]["params"] == DATE_PARAMS
    assert [v.title for v in newest][:2] == [
        "Cleaning solar panels",
        "Perovskite cells: the next step",
    ]
    assert len(newest) == 5
    innertube.requests.clear()
    search_videos(VideoQuery(QUERY, order=Order.VIEWS), keyless(), recorded_ytdlp(innertube))
    assert innertube.requests[0]["params"] == VIEWS_PARAMS


def test_ytdlp_search_with_no_results_is_empty(innertube) -> None:
    assert search_videos(VideoQuery("nothing at all"), keyless(), recorded_ytdlp(innertube)) == []


def test_find_videos_uses_ytdlp_without_a_key(innertube) -> None:
    found = find_videos(VideoQuery(QUERY, limit=2), keyless(), recorded_ytdlp(innertube))
    assert len(found) == 2 and innertube.requests


# --- the Data API (with a key) ----------------------------------------------------------------


def with_key(server: FakeDataApi, key: str = "yt-test-key") -> Settings:
    return Settings(youtube_api_key=key, youtube_api_base=server.base_url)


def test_the_data_api_adds_duration_captions_views_and_exact_dates(data_api) -> None:
    videos = find_videos(VideoQuery(QUERY, limit=4), with_key(data_api))
    assert [v.video_id for v in videos] == [f"sol0000000{n}" for n in range(1, 5)]
    first = videos[0]
    assert (first.duration, first.views, first.published, first.published_approximate) == (
        742.0,
        1_200_000,
        date(2023, 5, 1),
        False,
    )
    assert [v.captions for v in videos] == [False, True, True, False]
    assert first.thumbnail == "https://i.ytimg.com/vi/sol00000001/mqdefault.jpg"
    (search, videos_call) = data_api.seen
    assert search[0] == "/youtube/v3/search"
    assert search[1]["q"] == QUERY and search[1]["type"] == "video"
    assert videos_call[1]["id"] == ",".join(v.video_id for v in videos)
    assert all("key" not in params for _, params in data_api.seen)  # sent as a header


def test_the_data_api_pages_until_enough_pass_the_filters(data_api) -> None:
    query = VideoQuery("lectures", limit=20, min_duration=700)  # only Talk 100 and later
    videos = find_videos(query, with_key(data_api))
    assert [v.title for v in videos] == [f"Talk {n}" for n in range(100, 120)]
    assert [p.get("pageToken") for path, p in data_api.seen if path.endswith("search")] == [
        None,
        "50",
        "100",
    ]


def test_the_data_api_orders_and_dates_on_the_server(data_api) -> None:
    query = VideoQuery(QUERY, limit=3, order=Order.VIEWS, after=date(2023, 1, 1))
    videos = find_videos(query, with_key(data_api))
    assert [v.views for v in videos] == [1_200_000, 760_000, 500_000]
    params = data_api.seen[0][1]
    assert (params["order"], params["publishedAfter"]) == ("viewCount", "2023-01-01T00:00:00Z")


def test_a_wrong_key_is_explained_and_never_shown(data_api) -> None:
    with pytest.raises(PermanentError) as caught:
        find_videos(VideoQuery(QUERY), with_key(data_api, "secret-wrong-key"))
    assert caught.value.kind is ErrorKind.AUTH
    assert "check YOUTUBE_API_KEY" in caught.value.message
    assert "secret-wrong-key" not in caught.value.message


def test_quota_and_server_trouble_say_what_to_do(data_api) -> None:
    data_api.fail_with = Reply(
        403,
        {"error": {"code": 403, "message": "quota", "errors": [{"reason": "quotaExceeded"}]}},
    )
    with pytest.raises(PermanentError, match="quota for this key is used up"):
        find_videos(VideoQuery(QUERY), with_key(data_api))
    data_api.fail_with = Reply(503, {"error": {"code": 503, "message": "backend"}})
    with pytest.raises(TranscribeError, match="failed \\(503\\); try again") as caught:
        find_videos(VideoQuery(QUERY), with_key(data_api))
    assert caught.value.transient


def test_an_unreachable_api_is_a_clear_network_error() -> None:
    with (
        DataApiSearch("k", "http://127.0.0.1:9/youtube/v3", timeout=2) as api,
        pytest.raises(TranscribeError, match="cannot reach the YouTube Data API"),
    ):
        api.search(VideoQuery(QUERY))


def test_iso_durations() -> None:
    assert parse_iso_duration("PT1H2M3S") == 3723
    assert parse_iso_duration("PT45S") == 45
    assert parse_iso_duration("P1DT2H") == 93600
    assert parse_iso_duration("P0D") == 0
    assert parse_iso_duration("garbage") is None


def test_bad_queries_are_refused_with_a_reason() -> None:
    with pytest.raises(PermanentError, match="type what to search for"):
        VideoQuery("  ")
    with pytest.raises(PermanentError, match="shortest duration is longer"):
        VideoQuery("x", min_duration=60, max_duration=30)


# --- already transcribed ----------------------------------------------------------------------


def test_videos_transcribed_before_are_marked(tmp_path: Path, innertube) -> None:
    videos = search_videos(VideoQuery(QUERY, limit=3), keyless(), recorded_ytdlp(innertube))
    with Store(tmp_path / "bulk_transcribe.db") as store:
        session = store.create_session(tmp_path, {})
        store.add_items(session.id, [ItemSpec(videos[1].url, SourceType.YOUTUBE)])
        (item,) = store.items(session.id)
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.DONE, outputs=[])
        marked = mark_transcribed(store, videos)
    assert [v.transcribed for v in marked] == [False, True, False]
