"""Podcast feeds: RSS and Atom episodes, newest first, latest N and a date range."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.ingest.expand import expand_items
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.podcast import (
    PodcastFeedSource,
    episode_spec,
    parse_duration,
    parse_feed,
    select_episodes,
)
from tests.sources.feeds import FeedEpisode, atom_feed, day, rss_feed
from tests.sources.items import make_context, make_item
from tests.sources.media_server import MediaServer, Route

EPISODES = [
    FeedEpisode("Two", day(2024, 2, 1), "https://cdn.example/2.mp3", page="https://e.org/2"),
    FeedEpisode("Three", day(2024, 3, 1), "https://cdn.example/3.mp3", duration="1:02:03"),
    FeedEpisode("One", day(2024, 1, 1), "https://cdn.example/1.mp3", duration="754"),
]


@pytest.mark.parametrize("build", [rss_feed, atom_feed])
def test_episodes_come_newest_first_with_their_audio_and_dates(build) -> None:
    feed = parse_feed(build("Garden Talk", EPISODES), "https://feeds.example/garden")
    assert feed.title == "Garden Talk"
    assert [e.title for e in feed.episodes] == ["Three", "Two", "One"]
    assert [e.enclosure_url for e in feed.episodes] == [
        "https://cdn.example/3.mp3",
        "https://cdn.example/2.mp3",
        "https://cdn.example/1.mp3",
    ]
    assert feed.episodes[0].published.date() == date(2024, 3, 1)
    assert feed.episodes[1].episode_page == "https://e.org/2"
    assert feed.episodes[1].show_notes == "Show notes with bold & links."


def test_itunes_durations_in_every_spelling_become_seconds() -> None:
    feed = parse_feed(rss_feed("Show", EPISODES), "https://feeds.example/show")
    assert [e.duration for e in feed.episodes] == [3723.0, 754.0, 754.0]
    assert parse_duration("62:03") == 3723.0
    assert parse_duration("about an hour") is None


def test_latest_n_and_a_date_range_pick_the_episodes() -> None:
    episodes = parse_feed(rss_feed("Show", EPISODES), "u").episodes
    assert [e.title for e in select_episodes(episodes, latest=2)] == ["Three", "Two"]
    in_range = select_episodes(episodes, None, after=date(2024, 1, 15), before=date(2024, 2, 1))
    assert [e.title for e in in_range] == ["Two"]


def test_an_episode_becomes_an_item_whose_metadata_reaches_the_frontmatter() -> None:
    feed = parse_feed(rss_feed("Garden Talk", EPISODES), "https://feeds.example/garden")
    spec = episode_spec(feed.episodes[1], feed, "argument 1, episode #2")
    assert (spec.source, spec.source_type, spec.title) == (
        "https://cdn.example/2.mp3",
        SourceType.HTTP_MEDIA,
        "Two",
    )
    assert spec.metadata == {
        "podcast": "Garden Talk",
        "feed_url": "https://feeds.example/garden",
        "published": "2024-02-01T06:00:00+00:00",
        "episode_url": "https://e.org/2",
        "description": "Show notes with bold & links.",
        "episode_duration": 754.0,
        "guid": "Two-guid",
    }


def test_a_web_page_is_not_taken_for_a_feed() -> None:
    with pytest.raises(PermanentError) as caught:
        parse_feed(b"<html><body>Welcome</body></html>", "https://e.org/")
    assert "not an RSS or Atom feed" in caught.value.message


def test_an_unexpanded_feed_item_explains_how_feeds_are_run(tmp_path: Path) -> None:
    item = make_item("https://feeds.example/garden", SourceType.PODCAST_FEED)
    with pytest.raises(PermanentError) as caught:
        PodcastFeedSource().fetch(item, make_context(Settings(), tmp_path))
    assert "--latest" in caught.value.message


def test_audio_named_relative_to_the_feed_is_read_against_where_the_feed_is(
    media_server: MediaServer, tmp_path: Path
) -> None:
    """Feeds written by hand or by small site generators name their audio "/media/1.mp3" or
    "2.mp3"; those became items whose download failed as "not an http(s) download"."""
    episodes = [
        FeedEpisode("Root", day(2024, 2, 1), "/media/1.mp3", page="/episodes/1"),
        FeedEpisode("Beside", day(2024, 1, 1), "2.mp3"),
    ]
    feed = media_server.add("/shows/garden.rss", Route(rss_feed("Garden", episodes), "text/xml"))
    result = expand_items([ItemSpec(feed, SourceType.PODCAST_FEED)], Settings(out_dir=tmp_path))
    assert [(i.title, i.source) for i in result.items] == [
        ("Root", media_server.url("/media/1.mp3")),
        ("Beside", media_server.url("/shows/2.mp3")),
    ]
    assert result.items[0].metadata["episode_url"] == media_server.url("/episodes/1")


@pytest.mark.parametrize("build", [rss_feed, atom_feed])
def test_relative_audio_of_a_moved_feed_is_read_against_its_new_address(
    media_server: MediaServer, tmp_path: Path, build
) -> None:
    episodes = [FeedEpisode("Beside", day(2024, 1, 1), "2.mp3")]
    media_server.add("/new/feed.xml", Route(build("Garden", episodes), "text/xml"))
    moved = media_server.add(
        "/old/feed.xml",
        Route(b"", status=301, extra_headers={"Location": media_server.url("/new/feed.xml")}),
    )
    result = expand_items([ItemSpec(moved, SourceType.PODCAST_FEED)], Settings(out_dir=tmp_path))
    assert [i.source for i in result.items] == [media_server.url("/new/2.mp3")]


def paged_catalogue(media_server: MediaServer, build, pages: int = 3, loop: bool = False) -> str:
    """A show of 2 episodes a page, newest first, each page linking the next older one
    (RFC 5005); with `loop`, the last page links the first again."""
    for page in range(1, pages + 1):
        episodes = [
            FeedEpisode(f"Ep {n}", day(2024, n, 1), media_server.url(f"/audio/{n}.mp3"))
            for n in (2 * (pages - page) + 2, 2 * (pages - page) + 1)
        ]
        following = page + 1 if page < pages else (1 if loop else None)
        link = f"/show/page{following}.xml" if following else None  # relative, as hosts write
        media_server.add(f"/show/page{page}.xml", Route(build("Paged", episodes, link), "text/xml"))
    return media_server.url("/show/page1.xml")


@pytest.mark.parametrize("build", [rss_feed, atom_feed])
def test_a_paged_feed_gives_its_whole_back_catalogue(
    media_server: MediaServer, tmp_path: Path, build
) -> None:
    """Hosts with long catalogues serve them in pages: the first page alone held only the
    two newest of six episodes, so a run or a follow of the feed missed the other four."""
    feed = paged_catalogue(media_server, build)
    result = expand_items([ItemSpec(feed, SourceType.PODCAST_FEED)], Settings(out_dir=tmp_path))
    assert [i.title for i in result.items] == [f"Ep {n}" for n in (6, 5, 4, 3, 2, 1)]
    assert {i.metadata["feed_url"] for i in result.items} == {feed}  # one feed, not three
    assert result.invalid == []


def test_latest_n_reads_only_the_pages_it_needs(media_server: MediaServer, tmp_path: Path) -> None:
    feed = paged_catalogue(media_server, rss_feed)
    settings = Settings(out_dir=tmp_path, latest=3)
    result = expand_items([ItemSpec(feed, SourceType.PODCAST_FEED)], settings)
    assert [i.title for i in result.items] == ["Ep 6", "Ep 5", "Ep 4"]
    assert media_server.requests_to("/show/page3.xml") == []


def test_pages_that_loop_or_fail_end_the_catalogue_with_what_was_read(
    media_server: MediaServer, tmp_path: Path
) -> None:
    feed = paged_catalogue(media_server, rss_feed, loop=True)
    result = expand_items([ItemSpec(feed, SourceType.PODCAST_FEED)], Settings(out_dir=tmp_path))
    assert len(result.items) == 6 and len(media_server.requests_to("/show/page1.xml")) == 1

    media_server.add("/show/page2.xml", Route(b"gone", "text/plain", status=404))
    result = expand_items([ItemSpec(feed, SourceType.PODCAST_FEED)], Settings(out_dir=tmp_path))
    assert [i.title for i in result.items] == ["Ep 6", "Ep 5"]
    (problem,) = result.invalid
    assert "older episodes" in problem.reason and "page2.xml" in problem.reason
