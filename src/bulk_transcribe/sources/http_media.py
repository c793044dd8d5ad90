"""Direct http(s) links to audio or video files (podcast episodes among them)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.media import check_decodes, probe_duration
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.redact import clean_title, reveal
from bulk_transcribe.sources.base import FetchContext
from bulk_transcribe.sources.download import cached_download, download_cache

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


class HttpMediaSource:
    name = "http_media"
    source_types = frozenset({SourceType.HTTP_MEDIA})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        url = reveal(item.source)  # the real link, credentials included, for the request only
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
