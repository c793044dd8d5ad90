"""Downloading media over HTTP with httpx: streamed, bounded, resumable, checked and cached."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bulk_transcribe.errors import ErrorKind, PermanentError, TransientError
from bulk_transcribe.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
SNIFF_BYTES = 2048
MAX_ATTEMPTS = 20  # connection drops survived by one download, each resuming where it stopped
MAX_ATTEMPTS_WITHOUT_PROGRESS = 3
USER_AGENT = "bulk-transcribe/0.1 (+https://pypi.org/project/bulk-transcribe/)"
# Content types that are certainly not media: a login page or an error page served with 200.
NOT_MEDIA_TYPES = re.compile(r"^(text/|application/(json|xml|xhtml|rss|atom|javascript))")
_CONTENT_RANGE_START = re.compile(r"bytes (\d+)-")
# Leading bytes of the containers PyAV decodes, for servers that label audio as text/plain.
_MEDIA_MAGIC: tuple[bytes, ...] = (
    b"ID3", b"fLaC", b"OggS", b"RIFF", b"FORM", b"\x1aE\xdf\xa3", b"#!AMR",
    b"\x30\x26\xb2\x75", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xf1", b"\xff\xf9",
)  # fmt: skip


@dataclass(frozen=True)
class Probe:
    """What a URL serves, from its headers and first bytes, without downloading it all."""

    url: str  # after redirects
    content_type: str
    head: bytes

    @property
    def is_media(self) -> bool:
        return looks_like_media(self.head) or (
            not NOT_MEDIA_TYPES.match(self.content_type) and not looks_like_markup(self.head)
        )

    @property
    def is_feed(self) -> bool:
        text = self.head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        return b"<rss" in text[:SNIFF_BYTES] or b"<feed" in text[:SNIFF_BYTES]

    @property
    def is_html(self) -> bool:
        return self.content_type.startswith(("text/html", "application/xhtml")) and not self.is_feed


def looks_like_media(head: bytes) -> bool:
    return head.startswith(_MEDIA_MAGIC) or head[4:8] == b"ftyp"


def looks_like_markup(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"<", b"{", b"[")


def cache_path(cache_dir: Path, url: str, folder: str = "http") -> Path:
    """Where `url` is cached: one file per URL, so a resumed session does not download again."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    suffix = Path(urlparse(url).path).suffix.lower()
    return cache_dir / folder / f"{digest}{suffix if 1 < len(suffix) <= 6 else ''}"


def cached_download(
    url: str,
    cache_dir: Path,
    settings: Settings,
    check_cancelled: Callable[[], None] = lambda: None,
) -> Path:
    target = cache_path(cache_dir, url)
    if not target.exists():
        download(url, target, settings, check_cancelled)
    return target


def http_client(settings: Settings) -> httpx.Client:
    timeout = httpx.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout))
    return httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT})


def download(
    url: str,
    target: Path,
    settings: Settings,
    check_cancelled: Callable[[], None] = lambda: None,
) -> None:
    """Stream `url` to `target`; a dropped connection resumes with Range; never leaves a partial.

    The file takes its final name only when complete, so a crash never leaves a half file
    that a later run would mistake for a cached download.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    complete = False
    try:
        with http_client(settings) as client:
            _download_with_resume(
                client, url, partial, settings.download_max_bytes, check_cancelled
            )
        os.replace(partial, target)
        complete = True
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise PermanentError(
                ErrorKind.DISK_FULL, "disk full while downloading: free some space, then resume"
            ) from exc
        raise
    finally:
        if not complete:
            partial.unlink(missing_ok=True)


def _download_with_resume(
    client: httpx.Client,
    url: str,
    partial: Path,
    max_bytes: int,
    check_cancelled: Callable[[], None],
) -> None:
    validator: str | None = None  # ETag or Last-Modified, so a resume never splices two versions
    stalls = 0
    last_error: httpx.TransportError | None = None
    for _attempt in range(MAX_ATTEMPTS):
        have = partial.stat().st_size if partial.exists() else 0
        headers = {}
        if have:
            headers["Range"] = f"bytes={have}-"
            if validator:
                headers["If-Range"] = validator
        try:
            with client.stream("GET", url, headers=headers) as response:
                if have and response.status_code == 416:  # our partial no longer fits: restart
                    partial.unlink()
                    continue
                validator = validator or _validator(response)
                expected = _receive(response, url, partial, have, max_bytes, check_cancelled)
            if expected is not None and partial.stat().st_size < expected:
                raise httpx.RemoteProtocolError("the body ended before its announced length")
            return
        except httpx.TransportError as exc:
            last_error = exc
            grown = partial.exists() and partial.stat().st_size > have
            stalls = 0 if grown else stalls + 1
            log.info("download of %s interrupted (%s); resuming", url, exc)
            if stalls >= MAX_ATTEMPTS_WITHOUT_PROGRESS:
                break
    if isinstance(last_error, httpx.TimeoutException):
        raise TransientError(ErrorKind.TIMEOUT, f"timed out downloading {url}") from last_error
    raise TransientError(
        ErrorKind.NETWORK,
        f"could not download {url}: the connection kept dropping "
        f"({type(last_error).__name__}: {last_error}); will retry",
    ) from last_error


def _receive(
    response: httpx.Response,
    url: str,
    partial: Path,
    have: int,
    max_bytes: int,
    check_cancelled: Callable[[], None],
) -> int | None:
    """Write the body after the `have` bytes already on disk; returns the full expected size."""
    check_status(url, response)
    resuming = have > 0 and response.status_code == 206 and _range_start(response) == have
    offset = have if resuming else 0  # a 200 to a Range request means: start over
    length = response.headers.get("content-length")
    expected = offset + int(length) if length and length.isdigit() else None
    if expected is not None and expected > max_bytes:
        raise _too_large(url, max_bytes, expected)
    written = offset
    with partial.open("ab" if resuming else "wb") as out:
        # Unsized chunks: whatever arrived is on disk before a drop, ready for a resume.
        for chunk in response.iter_bytes():
            check_cancelled()
            if written == 0:
                check_media(url, response.headers.get("content-type", ""), chunk[:SNIFF_BYTES])
            written += len(chunk)
            if written > max_bytes:
                raise _too_large(url, max_bytes)
            out.write(chunk)
    if written == 0:
        raise PermanentError(ErrorKind.DECODE, f"{url} is empty: the server sent no data")
    return expected


def check_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = response.headers.get("retry-after")
        raise TransientError(
            ErrorKind.RATE_LIMITED if status == 429 else ErrorKind.HTTP,
            f"{url} answered HTTP {status}; will retry",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    if status in (401, 403):
        raise PermanentError(
            ErrorKind.AUTH,
            f"{url} answered HTTP {status}: the server refused the download "
            "(a private or expired link?)",
        )
    if status >= 400:
        hint = "check the link" if status in (404, 410) else "the server refused the download"
        raise PermanentError(ErrorKind.HTTP, f"{url} answered HTTP {status}: {hint}")


def check_media(url: str, content_type: str, head: bytes) -> None:
    """An HTML error page is not audio, whatever its Content-Type; audio labelled text is."""
    kind = content_type.split(";")[0].strip().lower() or "no content type"
    if looks_like_media(head):
        return
    if looks_like_markup(head) or NOT_MEDIA_TYPES.match(kind):
        raise PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{url} returned {kind}, not audio or video: is it a web page rather than "
            "a media file? Paste the direct link to the audio, or the page's feed",
        )


def probe(url: str, settings: Settings) -> Probe:
    """Headers and first bytes of `url`: what it is, when its name does not say."""
    try:
        with http_client(settings) as client, client.stream("GET", url) as response:
            check_status(url, response)
            head = b""
            for chunk in response.iter_bytes(SNIFF_BYTES):
                head += chunk
                if len(head) >= SNIFF_BYTES:
                    break
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return Probe(url=str(response.url), content_type=content_type, head=head)
    except httpx.TransportError as exc:
        raise TransientError(ErrorKind.NETWORK, f"could not reach {url}: {exc}") from exc


def fetch_bytes(url: str, settings: Settings, max_bytes: int = 64 * 1024**2) -> bytes:
    """A small document (a feed, a page) in memory, with the same error mapping as downloads."""
    try:
        with http_client(settings) as client, client.stream("GET", url) as response:
            check_status(url, response)
            body = bytearray()
            for chunk in response.iter_bytes(CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise _too_large(url, max_bytes)
            return bytes(body)
    except httpx.TimeoutException as exc:
        raise TransientError(ErrorKind.TIMEOUT, f"timed out fetching {url}") from exc
    except httpx.TransportError as exc:
        raise TransientError(ErrorKind.NETWORK, f"could not fetch {url}: {exc}") from exc


def _validator(response: httpx.Response) -> str | None:
    etag = response.headers.get("etag")
    if etag and not etag.startswith("W/"):  # weak ETags are not allowed in If-Range
        return etag
    return response.headers.get("last-modified")


def _range_start(response: httpx.Response) -> int | None:
    match = _CONTENT_RANGE_START.match(response.headers.get("content-range", ""))
    return int(match.group(1)) if match else None


def _too_large(url: str, max_bytes: int, size: int | None = None) -> PermanentError:
    actual = f" is {size // 1024**2} MB," if size else " is"
    return PermanentError(
        ErrorKind.UNSUPPORTED,
        f"{url}{actual} over the download limit of {max_bytes // 1024**2} MB; "
        "raise BULK_TRANSCRIBE_DOWNLOAD_MAX_BYTES to allow it",
    )
