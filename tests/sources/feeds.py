"""Podcast feeds written the way hosting services publish them (RSS 2.0 + iTunes, and Atom)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class FeedEpisode:
    title: str
    published: datetime | None
    audio_url: str | None
    duration: str | None = "12:34"
    notes: str = "<p>Show notes with <b>bold</b> &amp; links.</p>"
    page: str | None = None


def day(year: int, month: int, date: int) -> datetime:
    return datetime(year, month, date, 6, 0, tzinfo=UTC)


def rss_feed(title: str, episodes: Sequence[FeedEpisode], next_page: str | None = None) -> bytes:
    """An RSS feed; with `next_page`, one page of a paged feed (RFC 5005) that links the
    next, older page, as large hosts publish long back catalogues."""
    items = []
    for ep in episodes:
        parts = [f"<title>{escape(ep.title)}</title>", f"<guid>{escape(ep.title)}-guid</guid>"]
        if ep.published:
            parts.append(f"<pubDate>{format_datetime(ep.published)}</pubDate>")
        if ep.audio_url:
            parts.append(
                f'<enclosure url="{escape(ep.audio_url)}" length="1000" type="audio/mpeg"/>'
            )
        if ep.duration:
            parts.append(f"<itunes:duration>{ep.duration}</itunes:duration>")
        if ep.page:
            parts.append(f"<link>{escape(ep.page)}</link>")
        parts.append(f"<description><![CDATA[{ep.notes}]]></description>")
        items.append("<item>" + "".join(parts) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
        ' xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>{escape(title)}</title><link>https://example.org/show</link>"
        + (f'<atom:link rel="next" href="{escape(next_page)}"/>' if next_page else "")
        + "<itunes:author>The Host</itunes:author>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def atom_feed(title: str, episodes: Sequence[FeedEpisode], next_page: str | None = None) -> bytes:
    entries = []
    for ep in episodes:
        parts = [f"<title>{escape(ep.title)}</title>", f"<id>urn:{escape(ep.title)}</id>"]
        if ep.published:
            parts.append(f"<published>{ep.published.isoformat()}</published>")
            parts.append(f"<updated>{ep.published.isoformat()}</updated>")
        if ep.audio_url:
            parts.append(f'<link rel="enclosure" type="audio/ogg" href="{escape(ep.audio_url)}"/>')
        if ep.page:
            parts.append(f'<link rel="alternate" type="text/html" href="{escape(ep.page)}"/>')
        parts.append(f'<summary type="html">{escape(ep.notes)}</summary>')
        entries.append("<entry>" + "".join(parts) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:feed</id><updated>2024-01-01T00:00:00Z</updated>"
        + (f'<link rel="next" href="{escape(next_page)}"/>' if next_page else "")
        + "".join(entries)
        + "</feed>"
    ).encode()
