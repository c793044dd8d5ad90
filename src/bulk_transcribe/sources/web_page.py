"""Pages whose media yt-dlp can find: Apple Podcasts, SoundCloud, and pages with <audio>/<video>."""

from __future__ import annotations

import hashlib

from bulk_transcribe.addresses import AddressPolicy, check_url
from bulk_transcribe.links import link_of
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.sources import ytdlp
from bulk_transcribe.sources.base import FetchContext, Source
from bulk_transcribe.sources.download import download_cache
from bulk_transcribe.sources.whole_files import checked_download


class WebPageSource(Source):
    name = "web_page"
    source_types = frozenset({SourceType.WEB_PAGE})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        url = link_of(item, context.real_link)
        # Keyed by the page's real URL (two pages may differ only in a secret parameter): the
        # media URL inside a page is often signed and short-lived.
        stem = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
        # The page first, for a message naming it; yt-dlp's own connections (redirects, the
        # media links inside the page) are checked as it makes them (ytdlp._checked).
        check_url(url, AddressPolicy.from_settings(context.settings))
        path, info = ytdlp.download_audio(
            url,
            context.cache_dir / "web",
            stem,
            context.settings,
            context.check_cancelled,
        )
        cache = download_cache(context.cache_dir, context.settings)
        cache.added(path)
        # yt-dlp calls a download finished when the announced length arrived: checked here.
        duration = checked_download(path, item.source, cache)
        title, _, metadata = ytdlp.metadata_from_info(info)
        return Fetched(
            media=MediaFile(path=path, duration=duration),
            title=title,
            duration=duration,
            metadata=metadata,
        )
