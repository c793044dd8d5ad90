"""Direct http(s) links to audio or video files, downloaded with httpx into a cache."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from bulk_transcribe.errors import ErrorKind, PermanentError, TransientError
from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import Fetched, Item, MediaFile, SourceType
from bulk_transcribe.sources.base import FetchContext

CHUNK = 256 * 1024
# Content types that are certainly not media: a login page or an error page served with 200.
NOT_MEDIA = re.compile(r"^(text/html|text/plain|application/json|application/xml|text/xml)")


def cache_path(cache_dir: Path, url: str) -> Path:
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    suffix = Path(urlparse(url).path).suffix.lower()
    return cache_dir / "http" / f"{digest}{suffix if len(suffix) <= 6 else ''}"


def title_from_url(url: str) -> str | None:
    name = Path(unquote(urlparse(url).path)).stem
    return name or None


class HttpMediaSource:
    name = "http_media"
    source_types = frozenset({SourceType.HTTP_MEDIA})

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        target = cache_path(context.cache_dir, item.source)
        if not target.exists():
            download(item.source, target, context)
        duration = probe_duration(target)
        return Fetched(
            media=MediaFile(path=target, duration=duration),
            title=title_from_url(item.source),
            duration=duration,
        )


def download(url: str, target: Path, context: FetchContext) -> None:
    """Stream `url` to `target` atomically; a partial file never takes the final name."""
    settings = context.settings
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    timeout = httpx.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout))
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            _check_response(url, response, settings.download_max_bytes)
            written = 0
            with partial.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    context.check_cancelled()
                    written += len(chunk)
                    if written > settings.download_max_bytes:
                        raise PermanentError(
                            ErrorKind.UNSUPPORTED,
                            f"{url} is larger than the download limit of "
                            f"{settings.download_max_bytes // 1024**2} MB",
                        )
                    out.write(chunk)
        os.replace(partial, target)
    except httpx.TimeoutException as exc:
        raise TransientError(ErrorKind.TIMEOUT, f"timed out downloading {url}") from exc
    except httpx.TransportError as exc:
        raise TransientError(
            ErrorKind.NETWORK, f"could not download {url}: {exc.__class__.__name__} {exc}"
        ) from exc
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise PermanentError(
                ErrorKind.DISK_FULL, "disk full while downloading: free some space, then resume"
            ) from exc
        raise
    finally:
        partial.unlink(missing_ok=True)


def _check_response(url: str, response: httpx.Response, max_bytes: int) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = response.headers.get("retry-after")
        raise TransientError(
            ErrorKind.RATE_LIMITED if status == 429 else ErrorKind.HTTP,
            f"{url} answered HTTP {status}; will retry",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    if status >= 400:
        hint = "check the link" if status in (404, 410) else "the server refused the download"
        raise PermanentError(ErrorKind.HTTP, f"{url} answered HTTP {status}: {hint}")
    content_type = response.headers.get("content-type", "").lower()
    if NOT_MEDIA.match(content_type):
        raise PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{url} returned {content_type.split(';')[0]}, not audio or video: "
            "is it a web page rather than a media file?",
        )
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{url} is {int(length) // 1024**2} MB, over the download limit of "
            f"{max_bytes // 1024**2} MB",
        )
