"""The podcast feed a show's home page names (<link rel="alternate" type="application/rss+xml">).

People paste a podcast's web site, not its feed; yt-dlp finds no audio on such a page, but
the page says where its feed is, the way browsers and podcast apps find it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml"})


def is_home_page(url: str) -> bool:
    """Whether `url` is a site's front page ("https://show.example/"): the page a show's
    feed stands for. Other pages (a blog post with a player) name the site's feed too,
    which is not what the user asked for."""
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def feed_links(html: bytes, page_url: str) -> list[str]:
    """The feeds `html` names as alternates of itself, in page order, absolute."""
    finder = _FeedLinkFinder()
    try:
        finder.feed(html.decode("utf-8", errors="replace"))
        finder.close()
    except AssertionError:  # HTMLParser's reaction to some broken markup: keep what it found
        pass
    return [urljoin(page_url, href) for href in dict.fromkeys(finder.links)]


class _FeedLinkFinder(HTMLParser):
    # The standard library's parser: forgiving of the markup real pages carry, and enough
    # for one kind of tag (a full HTML5 parser is not a dependency worth adding for it).
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {name.lower(): (value or "").strip() for name, value in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in _FEED_TYPES and values.get("href"):
            self.links.append(values["href"])
