"""Podcast feeds (RSS and Atom) read with feedparser into episodes, newest first."""

from __future__ import annotations

import calendar
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

from bulk_transcribe.errors import ErrorKind, PermanentError, TranscribeError
from bulk_transcribe.models import Entry, Fetched, InvalidEntry, Item, ItemSpec, SourceType
from bulk_transcribe.redact import clean_title
from bulk_transcribe.sources.base import (
    ExpandContext,
    ExpandResult,
    Expansion,
    FetchContext,
    Source,
)

_TAGS = re.compile(r"<[^>]+>")
# Links that name a feed by their path or host; others are settled by asking the server.
_FEED_PATH_ENDINGS = (".rss", ".xml", "/feed", "/rss")
# A paged feed (RFC 5005) is read page by page up to this many: thousands of episodes, never
# an endless chain of links.
MAX_FEED_PAGES = 200


@dataclass(frozen=True)
class Episode:
    title: str | None
    published: datetime | None
    enclosure_url: str | None
    duration: float | None
    show_notes: str | None
    episode_page: str | None
    guid: str | None


@dataclass(frozen=True)
class Feed:
    url: str
    title: str | None
    link: str | None
    author: str | None
    episodes: list[Episode]  # newest first; undated episodes keep feed order, after dated ones
    next_page: str | None = None  # a paged feed's next, older page (RFC 5005 rel="next")


def parse_feed(data: bytes, url: str, base_for: Callable[[], str] | None = None) -> Feed:
    """A feed's episodes; PermanentError when `data` is not a feed at all. Links written
    relative to the feed ("/media/ep1.mp3") are read against the address `base_for` gives,
    asked only for such a feed (where the feed was served from after redirects), or `url`."""
    import feedparser  # imported here: only runs that expand feeds pay for it

    parsed = feedparser.parse(data)
    relative_audio = any(_is_relative(_enclosure(entry)) for entry in parsed.entries)
    base = url
    if relative_audio:
        # Read again with the base as Content-Location: feedparser then resolves Atom links
        # and pages (and honours xml:base); RSS enclosures it leaves as written, so
        # _episode joins those.
        base = base_for() if base_for is not None else url
        parsed = feedparser.parse(data, response_headers={"content-location": base})
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{url} is not an RSS or Atom feed"
            + (f" ({type(problem).__name__}: {problem})" if problem else "")
            + "; paste the podcast's feed URL (Apple Podcasts and web pages work too)",
        )
    channel = parsed.feed
    next_page = next(
        (link.get("href") for link in channel.get("links", []) if link.get("rel") == "next"),
        None,
    )
    return Feed(
        url=url,
        title=channel.get("title"),
        link=channel.get("link"),
        author=channel.get("author") or channel.get("itunes_author"),
        episodes=_newest_first([_episode(entry, base) for entry in parsed.entries]),
        next_page=urljoin(base, next_page) if next_page else None,
    )


def _newest_first(episodes: list[Episode]) -> list[Episode]:
    dated = sorted(
        (e for e in episodes if e.published), key=lambda e: e.published or 0, reverse=True
    )
    return dated + [e for e in episodes if not e.published]


def select_episodes(
    episodes: list[Episode],
    latest: int | None,
    after: date | None = None,
    before: date | None = None,
) -> list[Episode]:
    """The newest `latest` episodes inside the date range (undated ones pass the range)."""
    chosen = [
        e
        for e in episodes
        if e.published is None
        or (
            (after is None or e.published.date() >= after)
            and (before is None or e.published.date() <= before)
        )
    ]
    return chosen[:latest] if latest else chosen


def episode_spec(episode: Episode, feed: Feed, origin: str | None) -> ItemSpec:
    """An episode as an item: its audio file, with the feed's facts as frontmatter metadata."""
    if not episode.enclosure_url:
        raise ValueError("episode has no enclosure")
    metadata: dict[str, Any] = {
        "podcast": feed.title,
        "feed_url": feed.url,
        "published": episode.published.isoformat() if episode.published else None,
        "episode_url": episode.episode_page,
        "description": episode.show_notes,
        "episode_duration": episode.duration,
        "guid": episode.guid,
    }
    return ItemSpec(
        source=episode.enclosure_url,
        source_type=SourceType.HTTP_MEDIA,
        title=episode.title,
        metadata={k: v for k, v in metadata.items() if v is not None},
        origin=origin,
    )


def episode_identity(spec: ItemSpec | Item) -> tuple[str, str] | None:
    """(feed URL, guid) of an item that is a feed's episode, else None.

    The guid is the feed's own name for an episode and outlives its audio link: hosts add or
    change an analytics prefix, date or sign the query, or move the files elsewhere, and the
    episode is still the one already transcribed."""
    feed_url, guid = spec.metadata.get("feed_url"), spec.metadata.get("guid")
    if isinstance(feed_url, str) and isinstance(guid, str) and guid.strip():
        return feed_url, guid
    return None


def same_episode(spec: ItemSpec | Item, title: str | None, published: str | None) -> bool:
    """Whether an episode stored with `spec`'s guid in its feed (its `title` and `published`
    as stored) is `spec`'s episode: its date or its title is the same too. Some feeds give
    every episode one guid; a moved episode keeps its date, and mostly its title."""
    date = spec.metadata.get("published")
    if date and published and date == published:
        return True
    mine = clean_title(spec.title)
    return bool(title and mine) and title.casefold() == mine.casefold()


def episode_marks(spec: ItemSpec | Item) -> list[str]:
    """What to remember a feed's episode by besides its link, so it is known again under
    another link: its guid with its date, and its guid with its title (same_episode)."""
    identity = episode_identity(spec)
    if identity is None:
        return []
    date, title = spec.metadata.get("published"), clean_title(spec.title)
    return [
        f"guid:{identity[1]}\n{kind}:{value}"
        for kind, value in (("date", date), ("title", title and title.casefold()))
        if value
    ]


class PodcastFeedSource(Source):
    """Feeds are expanded into episodes before a run; an unexpanded one says so."""

    name = "podcast_feed"
    source_types = frozenset({SourceType.PODCAST_FEED})

    def claim(self, url: str, parts: SplitResult, origin: str) -> Entry | None:
        path = parts.path.lower().rstrip("/")
        if path.endswith(_FEED_PATH_ENDINGS) or "feeds." in (parts.hostname or ""):
            return ItemSpec(
                source=url.split("#", 1)[0], source_type=SourceType.PODCAST_FEED, origin=origin
            )
        return None

    def expands(self, spec: ItemSpec) -> bool:
        return spec.source_type is SourceType.PODCAST_FEED

    def expand(
        self, spec: ItemSpec, context: ExpandContext, result: ExpandResult
    ) -> list[ItemSpec]:
        settings = context.settings
        # Audio named relative to the feed is read against where the feed really is, which
        # a redirect may have moved: one more request, only for such feeds.
        feed = parse_feed(
            context.fetch_bytes(spec.source, settings),
            spec.source,
            lambda: _final_address(spec.source, context),
        )
        feed, problem = _with_older_pages(feed, context)
        if problem:
            result.invalid.append(InvalidEntry(spec.origin or spec.source, spec.source, problem))
        chosen = select_episodes(
            feed.episodes, settings.latest, settings.date_after, settings.date_before
        )
        items: list[ItemSpec] = []
        for number, episode in enumerate(chosen, start=1):
            origin = f"{spec.origin or spec.source}, episode #{number}"
            if not episode.enclosure_url:
                reason = "episode has no audio file (no enclosure in the feed)"
                result.invalid.append(InvalidEntry(origin, episode.title or "untitled", reason))
                continue
            items.append(episode_spec(episode, feed, origin))
        notes = []
        if settings.latest and len(feed.episodes) > settings.latest:
            notes.append(f"latest {settings.latest}")
        if settings.date_after or settings.date_before:
            notes.append("date range applied")
        result.expansions.append(
            Expansion(
                spec.source,
                "podcast feed",
                feed.title,
                len(feed.episodes),
                len(items),
                tuple(notes),
            )
        )
        return items

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{item.source} is a podcast feed: it is expanded into its episodes when a run "
            "starts; run `bulk-transcribe run <feed URL> --latest N`",
        )


def _with_older_pages(feed: Feed, context: ExpandContext) -> tuple[Feed, str | None]:
    """`feed` with the episodes of the older pages its first page links (a paged feed, as
    hosts publish long back catalogues), read until the run's latest N or date range is
    covered (pages go newest to oldest), the chain ends or loops, or a page fails (then what
    was read is kept, and the problem returned)."""
    settings = context.settings
    episodes, read, next_page = list(feed.episodes), {feed.url}, feed.next_page
    problem = None
    while next_page and next_page not in read and len(read) < MAX_FEED_PAGES:
        if _covered(episodes, settings.latest, settings.date_after, settings.date_before):
            break
        read.add(next_page)
        page_url = next_page
        try:
            page = parse_feed(
                context.fetch_bytes(page_url, settings),
                page_url,
                lambda url=page_url: _final_address(url, context),
            )
        except TranscribeError as exc:
            problem = f"older episodes could not be read (page {page_url}: {exc.message})"
            break
        episodes += page.episodes
        next_page = page.next_page
    if len(read) == 1:
        return feed, problem
    # An episode published while the pages were read shifts the others down a page: once each.
    unique: dict[tuple[str | None, ...], Episode] = {}
    for episode in episodes:
        unique.setdefault((episode.guid, episode.enclosure_url, episode.title), episode)
    return replace(feed, episodes=_newest_first(list(unique.values()))), problem


def _covered(
    episodes: list[Episode], latest: int | None, after: date | None, before: date | None
) -> bool:
    """Whether older pages can add nothing the run wants: its latest N are in hand, or the
    oldest episode read is already before its date range."""
    if latest and len(select_episodes(episodes, latest, after, before)) >= latest:
        return True
    oldest = min((e.published for e in episodes if e.published), default=None)
    return bool(after and oldest and oldest.date() < after)


def _episode(entry: Any, base: str) -> Episode:
    enclosure = _enclosure(entry)
    return Episode(
        title=(entry.get("title") or "").strip() or None,
        published=_published(entry),
        enclosure_url=urljoin(base, enclosure) if enclosure else None,
        duration=parse_duration(entry.get("itunes_duration")),
        show_notes=_show_notes(entry),
        episode_page=_web_link(entry.get("link")),
        guid=entry.get("id"),
    )


def _enclosure(entry: Any) -> str | None:
    enclosures = [e for e in entry.get("enclosures", []) if e.get("href")]
    media = [e for e in enclosures if str(e.get("type", "")).startswith(("audio/", "video/"))]
    chosen = (media or enclosures or [None])[0]
    return chosen["href"] if chosen else None


def _is_relative(url: str | None) -> bool:
    return bool(url) and not urlsplit(url or "").scheme


def _final_address(url: str, context: ExpandContext) -> str:
    """Where `url` leads after redirects; `url` itself when asking fails (the episodes'
    own downloads then say what is wrong)."""
    try:
        return context.probe(url, context.settings).url
    except TranscribeError:
        return url


def _web_link(link: Any) -> str | None:
    # feedparser turns an RSS <guid> into the link when the feed does not say it is no URL.
    return link if isinstance(link, str) and link.startswith(("http://", "https://")) else None


def _published(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def _show_notes(entry: Any) -> str | None:
    content = entry.get("content") or []
    markup = content[0].get("value") if content else entry.get("summary")
    if not markup:
        return None
    text = " ".join(html.unescape(_TAGS.sub(" ", markup)).split())
    return text or None


def parse_duration(value: Any) -> float | None:
    """itunes:duration as seconds: "3600", "1:02:03" or "62:03"."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        return None
    if not parts or len(parts) > 3:
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds
