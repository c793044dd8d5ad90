"""Expansion before a run: feeds into episodes, playlists and channels into videos, and links
without an extension settled by what the server says they are."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bulk_transcribe.errors import ErrorKind, TransientError
from bulk_transcribe.ingest.expand import Expander, collection_listing_url, expand_items
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.pacing import Pacer
from tests.samples import EXAMPLES
from tests.sources.feeds import FeedEpisode, atom_feed, day, rss_feed
from tests.sources.media_server import MediaServer, Route, running_server, silent_listener

MP3 = (EXAMPLES / "media" / "02_library_visit.mp3").read_bytes()


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    with running_server() as server:
        yield server


def spec(source: str, source_type: SourceType, origin: str = "argument 1") -> ItemSpec:
    return ItemSpec(source=source, source_type=source_type, origin=origin)


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(out_dir=tmp_path, youtube_pace_seconds=0, **values)


# --- podcast feeds ------------------------------------------------------------------------


def serve_feed(server: MediaServer, path: str = "/feed.rss", build=rss_feed) -> str:
    episodes = [
        FeedEpisode(
            f"Episode {n}", day(2024, n, 1), server.url(f"/ep{n}.mp3"), page=f"https://e.org/{n}"
        )
        for n in (1, 2, 3)
    ]
    return server.add(path, Route(build("Garden Talk", episodes), "application/rss+xml"))


def test_a_feed_becomes_its_latest_episodes(media_server: MediaServer, tmp_path: Path) -> None:
    feed = serve_feed(media_server)
    result = expand_items([spec(feed, SourceType.PODCAST_FEED)], settings(tmp_path, latest=2))
    assert [(i.title, i.source, i.source_type) for i in result.items] == [
        ("Episode 3", media_server.url("/ep3.mp3"), SourceType.HTTP_MEDIA),
        ("Episode 2", media_server.url("/ep2.mp3"), SourceType.HTTP_MEDIA),
    ]
    assert result.items[0].metadata["podcast"] == "Garden Talk"
    assert result.items[0].metadata["episode_url"] == "https://e.org/3"
    assert result.items[0].origin == "argument 1, episode #1"
    (shown,) = result.expansions
    assert (shown.kind, shown.title, shown.found, shown.kept) == (
        "podcast feed",
        "Garden Talk",
        3,
        2,
    )
    assert shown.notes == ("latest 2",)


def test_a_date_range_applies_to_feeds(media_server: MediaServer, tmp_path: Path) -> None:
    feed = serve_feed(media_server, "/atom.xml", atom_feed)
    values = settings(tmp_path, date_after="2024-02-01", date_before="20240228")
    result = expand_items([spec(feed, SourceType.PODCAST_FEED)], values)
    assert [i.title for i in result.items] == ["Episode 2"]


def test_episodes_without_audio_and_unreachable_feeds_are_reported_not_fatal(
    media_server: MediaServer, tmp_path: Path
) -> None:
    body = rss_feed("Show", [FeedEpisode("Text only", day(2024, 1, 1), None)])
    feed = media_server.add("/feed.rss", Route(body, "application/rss+xml"))
    missing = media_server.url("/gone.rss")
    specs = [spec(feed, SourceType.PODCAST_FEED), spec(missing, SourceType.PODCAST_FEED, "row 3")]
    result = expand_items(specs, settings(tmp_path))
    assert result.items == []
    assert [(e.origin, e.value) for e in result.invalid] == [
        ("argument 1, episode #1", "Text only"),
        ("row 3", missing),
    ]
    assert "no audio file" in result.invalid[0].reason
    assert "HTTP 404" in result.invalid[1].reason


def test_links_without_an_extension_are_settled_by_the_server(
    media_server: MediaServer, tmp_path: Path
) -> None:
    feed_body = rss_feed("Show", [FeedEpisode("Only", day(2024, 1, 1), media_server.url("/a.mp3"))])
    feed = media_server.add("/podcast", Route(feed_body, "text/xml"))
    page = media_server.add("/episode-page", Route(b"<html><body>x</body></html>", "text/html"))
    audio = media_server.add("/stream", Route(MP3, "audio/mpeg"))
    specs = [spec(u, SourceType.HTTP_MEDIA) for u in (feed, page, audio)]
    result = expand_items(specs, settings(tmp_path))
    assert [(i.source, i.source_type) for i in result.items] == [
        (media_server.url("/a.mp3"), SourceType.HTTP_MEDIA),
        (page, SourceType.WEB_PAGE),
        (audio, SourceType.HTTP_MEDIA),
    ]


# --- YouTube playlists and channels (recorded flat listings) ------------------------------


def flat_entry(video_id: str, title: str, upload_date: str | None = None) -> dict[str, Any]:
    """One entry of yt-dlp's flat extraction of a YouTube playlist or channel tab."""
    return {
        "_type": "url",
        "ie_key": "Youtube",
        "id": video_id,
        "url": f"https://www.youtube.com/watch?v={video_id}",
        "title": title,
        "duration": 300,
        "upload_date": upload_date,
    }


class RecordedListing:
    """Stands in for yt-dlp's flat listing; counts how far the entries were read."""

    def __init__(self, title: str, entries: list[dict[str, Any]]):
        self.title, self.entries = title, entries
        self.urls: list[str] = []
        self.read = 0
        self.video_lookups: list[str] = []

    def list_flat(self, url: str, settings: Settings):
        self.urls.append(url)

        def entries() -> Iterator[dict[str, Any]]:
            for entry in self.entries:
                self.read += 1
                yield dict(entry)

        return {"title": self.title, "_type": "playlist"}, entries()

    def video_info(self, url: str, settings: Settings) -> dict[str, Any]:
        self.video_lookups.append(url)
        return {"upload_date": "20240115"}


IDS = ["aaaaaaaaaa1", "aaaaaaaaaa2", "aaaaaaaaaa3", "aaaaaaaaaa4"]


def expander(tmp_path: Path, listing: RecordedListing, **values: Any) -> Expander:
    return Expander(
        settings(tmp_path, **values),
        list_flat=listing.list_flat,
        video_info=listing.video_info,
        pacer=Pacer(0),
    )


def test_a_playlist_becomes_its_videos_up_to_the_limit(tmp_path: Path) -> None:
    listing = RecordedListing(
        "Solar basics",
        [flat_entry(IDS[0], "One"), {"_type": "url", "id": "PLnested", "title": "A playlist"}]
        + [flat_entry(i, f"Video {i[-1]}") for i in IDS[1:]],
    )
    url = "https://www.youtube.com/playlist?list=PL123"
    result = expander(tmp_path, listing, limit=2).expand([spec(url, SourceType.YOUTUBE)])
    assert [(i.source, i.title) for i in result.items] == [
        (f"https://www.youtube.com/watch?v={IDS[0]}", "One"),
        (f"https://www.youtube.com/watch?v={IDS[1]}", "Video 2"),
    ]
    assert result.items[0].metadata == {
        "playlist": "Solar basics",
        "playlist_url": url,
        "duration": 300.0,
    }
    assert listing.read == 3  # stopped reading once the limit was reached
    (shown,) = result.expansions
    assert (shown.kind, shown.title, shown.kept, shown.notes) == (
        "playlist",
        "Solar basics",
        2,
        ("limited to 2",),
    )


def test_a_channel_lists_its_videos_tab_and_stops_at_the_date_range(tmp_path: Path) -> None:
    listing = RecordedListing(
        "Energy Explained - Videos",
        [
            flat_entry(IDS[0], "March", "20240301"),
            flat_entry(IDS[1], "Undated"),  # the flat listing omits it: asked for separately
            flat_entry(IDS[2], "December", "20231201"),
            flat_entry(IDS[3], "November", "20231101"),
        ],
    )
    url = "https://www.youtube.com/@EnergyExplained"
    values = {"date_after": "2024-01-01", "date_before": "2024-02-28"}
    result = expander(tmp_path, listing, **values).expand([spec(url, SourceType.YOUTUBE)])
    assert listing.urls == ["https://www.youtube.com/@EnergyExplained/videos"]
    assert [i.title for i in result.items] == ["Undated"]
    assert result.items[0].metadata["upload_date"] == "2024-01-15"
    assert listing.video_lookups == [f"https://www.youtube.com/watch?v={IDS[1]}"]
    assert listing.read == 3  # newest first: nothing after December can be in range
    assert result.expansions[0].notes == ("2 outside the date range",)


def test_a_listing_failure_is_reported_against_its_row(tmp_path: Path) -> None:
    def blocked(url: str, settings: Settings):
        raise TransientError(ErrorKind.RATE_LIMITED, f"{url}: YouTube is refusing requests")

    url = "https://www.youtube.com/playlist?list=PL123"
    result = Expander(settings(tmp_path), list_flat=blocked, pacer=Pacer(0)).expand(
        [spec(url, SourceType.YOUTUBE, "links.csv row 4")]
    )
    assert result.items == []
    assert [(e.origin, e.value) for e in result.invalid] == [("links.csv row 4", url)]
    assert "refusing" in result.invalid[0].reason


def test_videos_found_twice_are_kept_once(tmp_path: Path) -> None:
    listing = RecordedListing("Mix", [flat_entry(IDS[0], "One"), flat_entry(IDS[1], "Two")])
    direct = spec(f"https://www.youtube.com/watch?v={IDS[1]}", SourceType.YOUTUBE)
    playlist = spec("https://www.youtube.com/playlist?list=PL1", SourceType.YOUTUBE)
    result = expander(tmp_path, listing).expand([direct, playlist])
    assert [i.source[-11:] for i in result.items] == [IDS[1], IDS[0]]
    assert result.duplicates_merged == 1


def test_videos_and_media_links_pass_through_untouched(tmp_path: Path) -> None:
    items = [
        spec("https://www.youtube.com/watch?v=dQw4w9WgXcQ", SourceType.YOUTUBE),
        spec("https://cdn.example/ep.mp3", SourceType.HTTP_MEDIA),
        spec(str(tmp_path / "a.wav"), SourceType.LOCAL_FILE),
    ]
    result = expand_items(items, settings(tmp_path))
    assert result.items == items and result.expansions == []


@pytest.mark.parametrize(
    ("url", "listed"),
    [
        ("https://www.youtube.com/@h", "https://www.youtube.com/@h/videos"),
        (
            "https://www.youtube.com/channel/UC1/videos",
            "https://www.youtube.com/channel/UC1/videos",
        ),
        ("https://www.youtube.com/c/name/", "https://www.youtube.com/c/name/videos"),
        ("https://www.youtube.com/playlist?list=PL1", "https://www.youtube.com/playlist?list=PL1"),
    ],
)
def test_channel_home_pages_are_listed_through_their_videos_tab(url: str, listed: str) -> None:
    assert collection_listing_url(url) == listed


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    with silent_listener() as server:
        yield server


def test_a_host_that_never_answers_is_probed_twice_and_its_links_kept_for_the_run(
    silent_server: tuple[str, list[socket.socket]], media_server: MediaServer, tmp_path: Path
) -> None:
    base, taken = silent_server
    audio = media_server.add("/stream", Route(MP3, "audio/mpeg"))
    links = [f"{base}/episode/{n}" for n in (1, 2, 3, 4)] + [audio]
    specs = [spec(link, SourceType.HTTP_MEDIA) for link in links]

    result = expand_items(specs, settings(tmp_path, http_timeout=1))

    assert [i.source for i in result.items] == links  # they fail or pass when they run
    assert result.invalid == []
    assert len(taken) == 2  # two timeouts for the host, not one per link
