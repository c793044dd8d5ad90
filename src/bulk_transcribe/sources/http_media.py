"""Direct http(s) links to audio or video files (podcast episodes among them)."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path, PurePosixPath
from urllib.parse import SplitResult, parse_qsl, unquote, urlparse, urlsplit

from bulk_transcribe.errors import ErrorKind, PermanentError, TranscribeError
from bulk_transcribe.links import link_of
from bulk_transcribe.media import MEDIA_EXTENSIONS
from bulk_transcribe.models import Entry, Fetched, Item, ItemSpec, MediaFile, SourceType
from bulk_transcribe.redact import clean_title
from bulk_transcribe.sources.base import (
    ExpandContext,
    ExpandResult,
    Expansion,
    FetchContext,
    Source,
)
from bulk_transcribe.sources.download import cached_download, download_cache
from bulk_transcribe.sources.feed_discovery import feed_links, is_home_page
from bulk_transcribe.sources.podcast import parse_feed
from bulk_transcribe.sources.whole_files import checked_download

log = logging.getLogger(__name__)


def has_media_extension(url: str) -> bool:
    return PurePosixPath(urlsplit(url).path).suffix.lower() in MEDIA_EXTENSIONS


# Query parameters that can tell two links to the same file name apart (?n=3, ?episode=12)
# go into the title; signatures, tokens and long values of signed links never do.
_CREDENTIAL_PARAM = re.compile(r"sig|token|key|auth|expire|credential|policy|session|pass", re.I)
_TITLE_PARAM_CHARS = 24
_TITLE_PARAMS = 3


def title_from_url(url: str) -> str | None:
    parsed = urlparse(url)
    name = Path(unquote(parsed.path)).stem
    kept = [
        f"{key}={value}" if value else key
        for key, value in parse_qsl(parsed.query, keep_blank_values=True)
        if not _CREDENTIAL_PARAM.search(key) and len(key) + len(value) <= _TITLE_PARAM_CHARS
    ][:_TITLE_PARAMS]
    if kept:
        name = f"{name} ({', '.join(kept)})"
    return clean_title(name)


def _home_page_feed(link: str, page: str, context: ExpandContext) -> str | None:
    """The podcast feed a site's front page names, when one of its first two feeds has
    episodes with audio (a blog's feed of articles is no podcast); None otherwise, or when
    asking fails (the page then stays a page for yt-dlp)."""
    if not (is_home_page(link) or is_home_page(page)):
        return None
    try:
        candidates = feed_links(context.fetch_bytes(page, context.settings), page)[:2]
    except TranscribeError:
        return None
    for candidate in candidates:
        try:
            feed = parse_feed(context.fetch_bytes(candidate, context.settings), candidate)
        except TranscribeError:
            continue
        if any(episode.enclosure_url for episode in feed.episodes):
            return candidate
    return None


class HttpMediaSource(Source):
    """Every http(s) link no other source claims: last in SOURCES."""

    name = "http_media"
    source_types = frozenset({SourceType.HTTP_MEDIA})

    def claim(self, url: str, parts: SplitResult, origin: str) -> Entry | None:
        # Kept as given (minus the fragment, which never reaches the server): signed media
        # URLs break if their query is reordered or trimmed. De-duplication uses the
        # normalised form.
        return ItemSpec(
            source=url.split("#", 1)[0], source_type=SourceType.HTTP_MEDIA, origin=origin
        )

    def expands(self, spec: ItemSpec) -> bool:
        return spec.source_type is SourceType.HTTP_MEDIA and not has_media_extension(spec.source)

    def expand(
        self, spec: ItemSpec, context: ExpandContext, result: ExpandResult
    ) -> list[ItemSpec]:
        """A link whose name does not say: its Content-Type and first bytes decide."""
        try:
            found = context.probe(spec.source, context.settings)
        except TranscribeError as exc:  # the item will fail with the reason when it runs
            log.info("could not probe %s: %s", spec.source, exc)
            return [spec]
        if found.is_feed:
            return context.expand_as(replace(spec, source_type=SourceType.PODCAST_FEED), result)
        if found.is_html:
            feed = _home_page_feed(spec.source, found.url, context)
            if feed is not None:  # a show's web site: its episodes, as its feed lists them
                podcast = replace(spec, source=feed, source_type=SourceType.PODCAST_FEED)
                return context.expand_as(podcast, result)
            result.expansions.append(Expansion(spec.source, "web page", None, 1, 1))
            return [replace(spec, source_type=SourceType.WEB_PAGE)]
        return [spec]

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        # The real link, credentials included, for the request only.
        url = link_of(item, context.real_link)
        path = cached_download(url, context.cache_dir, context.settings, context.check_cancelled)
        cache = download_cache(context.cache_dir, context.settings)
        try:
            duration = checked_download(path, item.source, cache)
        except PermanentError as exc:
            if exc.kind is not ErrorKind.DECODE:
                raise
            # A bad download must not stay cached: the next try downloads it again.
            cache.forget(path)
            raise PermanentError(
                ErrorKind.DECODE,
                f"{item.source} is not audio or video PyAV can decode ({exc.message}); "
                "check that the link serves the media file itself",
            ) from exc
        return Fetched(
            media=MediaFile(path=path, duration=duration),
            title=title_from_url(item.source),
            duration=duration,
        )
