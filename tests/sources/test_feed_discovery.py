"""Finding the feed a show's home page names, as browsers and podcast apps do."""

from __future__ import annotations

import pytest

from bulk_transcribe.sources.feed_discovery import feed_links, is_home_page


def test_the_feeds_a_page_names_as_its_alternates_come_back_absolute_in_page_order() -> None:
    page = b"""<html><head>
    <link rel="stylesheet" href="/style.css">
    <LINK REL="Alternate" TYPE="application/rss+xml; charset=utf-8" HREF="/feed.rss">
    <link rel="alternate" type="application/atom+xml" href="https://cdn.example/atom.xml">
    <link rel="alternate" type="text/html" hreflang="de" href="/de/">
    <link rel="alternate" type="application/rss+xml" href="/feed.rss">
    <link rel="alternate" type="application/rss+xml">
    </head><body><a href="/other.rss">not a link tag</a></body></html>"""
    assert feed_links(page, "https://show.example/") == [
        "https://show.example/feed.rss",
        "https://cdn.example/atom.xml",
    ]


def test_broken_markup_gives_what_could_be_read() -> None:
    page = b"<html><head><link rel=alternate type=application/rss+xml href=feed.xml><div <<"
    assert feed_links(page, "https://show.example/pod/") == ["https://show.example/pod/feed.xml"]
    assert feed_links(b"\xff\xfe not html at all", "https://show.example/") == []


@pytest.mark.parametrize(
    ("url", "home"),
    [
        ("https://show.example", True),
        ("https://show.example/", True),
        ("https://show.example/?ref=nl", False),
        ("https://show.example/episodes/7", False),
    ],
)
def test_only_a_sites_front_page_stands_for_its_feed(url: str, home: bool) -> None:
    assert is_home_page(url) is home
