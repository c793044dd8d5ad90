"""Direct http(s) links to audio or video files (podcast episodes among them)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.links import link_of
from bulk_transcribe.media import check_decodes, probe_duration
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.redact import clean_title
from bulk_transcribe.sources.base import FetchContext
from bulk_transcribe.sources.download import cached_download, download_cache


def title_from_url(url: str) -> str | None:
    name = Path(unquote(urlparse(url).path)).stem
    return clean_title(name)


class HttpMediaSource:
    name = "http_media"
    source_types = frozenset({SourceType.HTTP_MEDIA})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        # The real link, credentials included, for the request only.
        url = link_of(item, context.real_link)
        path = cached_download(url, context.cache_dir, context.settings, context.check_cancelled)
        try:
            check_decodes(path)
            duration = probe_duration(path)
        except PermanentError as exc:
            if exc.kind is not ErrorKind.DECODE:
                raise
            # A bad download must not stay cached: the next try downloads it again.
            download_cache(context.cache_dir, context.settings).forget(path)
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
