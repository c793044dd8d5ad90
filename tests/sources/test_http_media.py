"""Direct media links as a source: downloaded once, probed, titled from the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.ingest.expand import expand_items
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import source_for
from bulk_transcribe.sources.http_media import title_from_url
from tests.samples import EXAMPLES
from tests.sources.feeds import FeedEpisode, day, rss_feed
from tests.sources.items import make_context, make_item
from tests.sources.media_server import MediaServer, Route

OGG = (EXAMPLES / "media" / "04_weather_report.ogg").read_bytes()


def test_a_direct_link_is_downloaded_into_the_cache_and_probed(
    media_server: MediaServer, tmp_path: Path
) -> None:
    url = media_server.add("/audio/weather%20report.ogg", Route(OGG, "audio/ogg"))
    context = make_context(Settings(out_dir=tmp_path), tmp_path / "cache")
    fetched = source_for(SourceType.HTTP_MEDIA).fetch(
        make_item(url, SourceType.HTTP_MEDIA), context
    )
    assert fetched.title == "weather report"
    assert fetched.duration == pytest.approx(12.86, abs=0.1)
    assert fetched.media.path.is_relative_to(tmp_path / "cache" / "http")


def test_titles_from_links_keep_what_tells_them_apart_but_no_credentials() -> None:
    titles = {title_from_url(f"https://cdn.example/v12.mp3?n={n}") for n in range(9)}
    assert len(titles) == 9 and "v12 (n=3)" in titles
    signed = title_from_url(
        "https://bucket.example/talk.mp3?X-Amz-Signature=abcdef0123&X-Amz-Expires=600&part=2"
    )
    assert signed == "talk (part=2)"
    assert title_from_url("https://cdn.example/talk.mp3") == "talk"


def _site(
    server: MediaServer, page_path: str, feed_body: bytes, feed_path: str = "/feed.xml"
) -> str:
    """A show's site: a page whose <head> (past the first bytes a probe reads) names its
    feed, and the feed."""
    feed = server.add(feed_path, Route(feed_body, "application/rss+xml"))
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Garden Talk</title>'
        f'<meta name="description" content="{"A show about gardens. " * 200}">'
        '<link rel="alternate" type="application/rss+xml" title="Garden Talk" '
        f'href="{feed_path}"></head><body><h1>Garden Talk</h1></body></html>'
    ).encode()
    server.add(page_path, Route(page, "text/html; charset=utf-8"))
    return feed


def test_a_podcasts_web_site_becomes_the_episodes_of_the_feed_it_names(
    media_server: MediaServer, tmp_path: Path
) -> None:
    """People paste a show's site, not its feed: it was one web page item that failed as
    "no audio or video found on this page"."""
    episodes = [FeedEpisode("First", day(2024, 1, 1), media_server.url("/1.mp3"))]
    feed = _site(media_server, "/", rss_feed("Garden Talk", episodes))
    site = ItemSpec(media_server.url("/"), SourceType.HTTP_MEDIA, origin="argument 1")
    result = expand_items([site], Settings(out_dir=tmp_path))
    assert [(i.source, i.source_type, i.title) for i in result.items] == [
        (media_server.url("/1.mp3"), SourceType.HTTP_MEDIA, "First")
    ]
    assert [(e.source, e.kind) for e in result.expansions] == [(feed, "podcast feed")]


def test_a_blog_whose_feed_has_no_audio_and_an_inner_page_stay_web_pages(
    media_server: MediaServer, tmp_path: Path
) -> None:
    articles = rss_feed("Garden Blog", [FeedEpisode("An article", day(2024, 1, 1), None)])
    _site(media_server, "/", articles)
    episodes = [FeedEpisode("Seventh", day(2024, 7, 1), media_server.url("/7.mp3"))]
    _site(media_server, "/episodes/7", rss_feed("Garden Talk", episodes), "/show.xml")
    specs = [
        ItemSpec(media_server.url(path), SourceType.HTTP_MEDIA, origin=f"argument {n}")
        for n, path in enumerate(("/", "/episodes/7"), start=1)
    ]
    result = expand_items(specs, Settings(out_dir=tmp_path))
    assert [(i.source, i.source_type) for i in result.items] == [
        (media_server.url("/"), SourceType.WEB_PAGE),
        (media_server.url("/episodes/7"), SourceType.WEB_PAGE),
    ]
    assert not result.invalid
