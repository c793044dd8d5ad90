"""Pages whose media yt-dlp can find: Apple Podcasts, SoundCloud, and pages with <audio>/<video>."""

from __future__ import annotations

import hashlib

from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.sources import ytdlp
from bulk_transcribe.sources.base import FetchContext


class WebPageSource:
    name = "web_page"
    source_types = frozenset({SourceType.WEB_PAGE})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        # Keyed by the page URL: the media URL inside a page is often signed and short-lived.
        stem = hashlib.sha256(item.source.encode("utf-8")).hexdigest()[:16]
        path, info = ytdlp.download_audio(
            item.source,
            context.cache_dir / "web",
            stem,
            context.settings,
            context.check_cancelled,
        )
        title, _, metadata = ytdlp.metadata_from_info(info)
        duration = probe_duration(path)
        return Fetched(
            media=MediaFile(path=path, duration=duration),
            title=title,
            duration=duration,
            metadata=metadata,
        )
