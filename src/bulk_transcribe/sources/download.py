"""Downloading media over HTTP with httpx: streamed, bounded, resumable, checked and cached.

`url` arguments are real URLs (credentials included, for the request only); every message,
log line and error names the link with its secrets removed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from bulk_transcribe import net
from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.errors import (
    DISK_FULL_ADVICE,
    ErrorKind,
    PermanentError,
    TranscribeError,
    TransientError,
    disk_full,
    is_disk_full,
)
from bulk_transcribe.redact import redact_url
from bulk_transcribe.settings import SourceSettings
from bulk_transcribe.sources.cache import DownloadCache
from bulk_transcribe.sources.cache_locks import key_locks
from bulk_transcribe.sources.silent_hosts import (
    forget_silent,
    refuse_if_silent,
    remember_silent,
)

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
SNIFF_BYTES = 2048
MAX_ATTEMPTS = 20  # connection drops survived by one download, each resuming where it stopped
MAX_ATTEMPTS_WITHOUT_PROGRESS = 3
STALL_BYTES = 1024  # fewer bytes than this within the stall window: the download has stalled
MAX_REDIRECTS = 20
SPACE_MARGIN = 64 * 1024**2  # left free beyond a download's announced size (notes, database)
USER_AGENT = "bulk-transcribe/0.1 (+https://pypi.org/project/bulk-transcribe/)"
# Content types that are certainly not media: a login page or an error page served with 200.
NOT_MEDIA_TYPES = re.compile(r"^(text/|application/(json|xml|xhtml|rss|atom|javascript))")
_CONTENT_RANGE_START = re.compile(r"bytes (\d+)-")
_CONTENT_RANGE_TOTAL = re.compile(r"bytes \d+-\d+/(\d+)$")
LOCK_FILE = "downloads.lock"  # in OUT/.cache-locks: every link's lock is a byte of it
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
    return DownloadCache(cache_dir).path_for(url, folder)


def download_cache(cache_dir: Path, settings: SourceSettings) -> DownloadCache:
    return DownloadCache(cache_dir, int(settings.cache_max_mb * 1024**2))


def cached_download(
    url: str,
    cache_dir: Path,
    settings: SourceSettings,
    check_cancelled: Callable[[], None] = lambda: None,
) -> Path:
    """`url` from the cache, or downloaded into it (evicting the least recently used).

    Processes sharing the cache (two sessions in one output folder) share one download: the
    first takes the link's lock and downloads, the others wait for it and find it cached.
    """
    cache = download_cache(cache_dir, settings)
    target = cache.path_for(url)
    if cache.hit(target):
        return target
    with _download_lock(cache_dir, target, check_cancelled) as exclusive:
        if not cache.hit(target):  # another process may have finished it meanwhile
            size = download(url, target, settings, check_cancelled, exclusive=exclusive)
            cache.added(target, size)
    return target


def _download_lock(
    cache_dir: Path, target: Path, check_cancelled: Callable[[], None]
) -> AbstractContextManager[bool]:
    """The lock of one cached file, across processes and threads; waiting for it ends on a
    cancel. Its lock file is kept outside the cache folder, so no eviction or clearing ever
    deletes a lock in use; one file for every link (cache_locks.py)."""
    locks = key_locks(cache_dir.parent / ".cache-locks" / LOCK_FILE)
    return locks.hold(f"{target.parent.name}/{target.name}", check_cancelled)


@contextmanager
def http_client(settings: SourceSettings) -> Iterator[httpx.Client]:
    """A client for links, this caller's alone until the block ends (net.py: every
    connection, redirects included, passes the address policy); lent from a pool, so items
    from one host reuse their connections whichever thread runs them."""
    read_timeout = min(settings.http_timeout, settings.download_stall_seconds)
    timeout = httpx.Timeout(
        settings.http_timeout, connect=min(10.0, settings.http_timeout), read=read_timeout
    )
    policy = AddressPolicy.from_settings(settings)
    with net.borrowed_client(
        ("links", policy, settings.http_timeout, read_timeout),
        lambda: net.guarded_client(
            policy,
            timeout=timeout,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": USER_AGENT},
        ),
    ) as client:
        yield client


@contextmanager
def _request_errors(url: str, doing: str) -> Iterator[None]:
    """httpx's failures of one request as errors that name the link and say what to do.
    (The link is redacted only on a failure: every request passes here, few fail.)"""
    try:
        yield
    except PermanentError as exc:
        if exc.kind is not ErrorKind.BLOCKED:
            raise
        raise PermanentError(ErrorKind.BLOCKED, f"{redact_url(url)}: {exc.message}") from exc
    except httpx.TooManyRedirects as exc:
        raise PermanentError(
            ErrorKind.HTTP,
            f"{redact_url(url)} redirects in a loop (more than {MAX_REDIRECTS} redirects): the "
            "link is broken; open it in a browser and paste the address it ends at",
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        target = exc.request.url if _has_request(exc) else None
        kind = f"a {target.scheme}: address" if target and target.scheme else "an address"
        where = f"{kind} ({redact_url(str(target))})" if target else "elsewhere"
        raise PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{redact_url(url)} leads to {where}, which is not an http(s) download; "
            "paste a direct http(s) link to the media",
        ) from exc
    except httpx.InvalidURL as exc:
        raise PermanentError(
            ErrorKind.INVALID_INPUT, f"{redact_url(url)} is not a valid link"
        ) from exc
    except httpx.TimeoutException as exc:
        raise TransientError(ErrorKind.TIMEOUT, f"timed out {doing} {redact_url(url)}") from exc
    except httpx.TransportError as exc:
        raise TransientError(
            ErrorKind.NETWORK, f"could not {doing} {redact_url(url)}: {_describe(exc)}"
        ) from exc


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - raises when the error carries no request
    except RuntimeError:
        return False
    return True


def _describe(exc: Exception) -> str:
    return redact_url(str(exc)) if str(exc) else type(exc).__name__


def download(
    url: str,
    target: Path,
    settings: SourceSettings,
    check_cancelled: Callable[[], None] = lambda: None,
    *,
    exclusive: bool = False,
) -> int:
    """Stream `url` to `target`; a dropped connection resumes with Range; never leaves a partial.
    Returns the file's size. `exclusive`: the caller holds the link's lock across processes.

    The file takes its final name only when complete and as long as the server announced,
    so a crash never leaves a half file that a later run would mistake for a cached download.
    Its temporary name is its own: another download of the same link (another process)
    never writes into it, deletes it, or publishes it half done.
    """
    if exclusive:
        # No one else downloads this link now, so the name can be the link's own: what a
        # killed download (kill -9) left under it is written over by the next, not kept.
        partial = target.with_name(f".{target.name}.part")
    else:
        partial = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
    complete = False
    try:
        with _request_errors(url, "download"), http_client(settings) as client:
            size = _download_with_resume(client, url, partial, settings, check_cancelled)
        os.replace(partial, target)
        complete = True
        return size
    except TranscribeError:
        raise
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full(f"downloading {redact_url(url)}") from exc
        raise
    finally:
        if not complete:
            partial.unlink(missing_ok=True)


class _Stalled(httpx.ReadTimeout):
    """Bytes arrive, but too slowly to ever finish (a trickling server)."""


def _download_with_resume(
    client: httpx.Client,
    url: str,
    partial: Path,
    settings: SourceSettings,
    check_cancelled: Callable[[], None],
) -> int:
    """The body of `url` whole in `partial`; returns its size."""
    refuse_if_silent(url)
    validator: str | None = None  # ETag or Last-Modified, so a resume never splices two versions
    fruitless = 0
    answered = False  # whether the server ever sent a status line
    last_error: httpx.TransportError | None = None
    for attempt in range(MAX_ATTEMPTS):
        # The partial's name is this download's own: before the first attempt it is not there.
        have = partial.stat().st_size if attempt and partial.exists() else 0
        # The file as stored: media is compressed already, and a Content-Length or a Range
        # of gzip-coded bytes would not measure the file written (httpx asks for gzip).
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
            if validator:
                headers["If-Range"] = validator
        try:
            with client.stream("GET", url, headers=headers) as response:
                answered = True
                if have and response.status_code == 416:  # our partial no longer fits: restart
                    partial.unlink()
                    continue
                validator = validator or _validator(response)
                expected, size = _receive(response, url, partial, have, settings, check_cancelled)
            if expected is not None and size < expected:
                raise httpx.RemoteProtocolError("the body ended before its announced length")
            if expected is not None and size > expected:
                raise PermanentError(
                    ErrorKind.HTTP,
                    f"{redact_url(url)} sent {size} bytes where it announced {expected}: the "
                    "download is not the file the server described; try again later",
                )
            forget_silent(url)  # it answers after all: its other links may be asked again
            return size
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError):
            raise  # no resume makes these work
        except httpx.TransportError as exc:
            last_error = exc
            grown = partial.exists() and partial.stat().st_size > have
            # A stall counts as fruitless even if a few bytes came: trickling never finishes.
            fruitless = 0 if grown and not isinstance(exc, _Stalled) else fruitless + 1
            log.info("download of %s interrupted (%s); resuming", redact_url(url), exc)
            if fruitless >= MAX_ATTEMPTS_WITHOUT_PROGRESS:
                break
    shown = redact_url(url)
    if isinstance(last_error, httpx.TimeoutException):
        if not answered:  # not one status line in every try: its other links wait too
            remember_silent(url)
        raise TransientError(
            ErrorKind.TIMEOUT,
            f"{shown}: the download stalled (under {STALL_BYTES // 1024} KB in "
            f"{settings.download_stall_seconds:g} s, {fruitless} times in a row); the server is "
            "overloaded or throttling: resume later",
        ) from last_error
    if isinstance(last_error, httpx.ConnectError):  # never connected: nothing dropped
        raise TransientError(
            ErrorKind.NETWORK,
            f"could not connect to download {shown} ({_describe(last_error)}): check the "
            "address, and that this machine is online and the server up; then resume",
        ) from last_error
    raise TransientError(
        ErrorKind.NETWORK,
        f"could not download {shown}: the connection kept dropping "
        f"({type(last_error).__name__}: {_describe(last_error) if last_error else ''})",
    ) from last_error


def _receive(
    response: httpx.Response,
    url: str,
    partial: Path,
    have: int,
    settings: SourceSettings,
    check_cancelled: Callable[[], None],
) -> tuple[int | None, int]:
    """Write the body after the `have` bytes already on disk; returns the full expected size
    (None when the server did not say) and the size on disk."""
    check_status(url, response)
    max_bytes = settings.download_max_bytes
    # A server that codes the body all the same (gzip) announces and ranges coded bytes:
    # neither measures nor extends the decoded file, so its download starts over, unsized.
    coded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
    resuming = (
        have > 0 and not coded and response.status_code == 206 and _range_start(response) == have
    )
    offset = have if resuming else 0  # a 200 to a Range request means: start over
    length = response.headers.get("content-length")
    expected = offset + int(length) if length and length.isdigit() and not coded else None
    total = _range_total(response) if resuming else None
    if total is not None and expected is not None and total != expected:
        raise PermanentError(
            ErrorKind.HTTP,
            f"{redact_url(url)} announced a total of {total} bytes but sent a range ending at "
            f"{expected}: the file changed on the server; try again",
        )
    if expected is not None and expected > max_bytes:
        raise _too_large(url, max_bytes, expected)
    if expected is not None:
        _check_room(url, partial.parent, expected - offset)
    written = offset
    stall_window = settings.download_stall_seconds
    window_start, window_bytes = time.monotonic(), 0
    with _open_partial(partial, "ab" if resuming else "wb") as out:
        # Unsized chunks: whatever arrived is on disk before a drop, ready for a resume.
        for chunk in response.iter_bytes():
            check_cancelled()
            if written == 0:
                check_media(url, response.headers.get("content-type", ""), chunk[:SNIFF_BYTES])
            written += len(chunk)
            if written > max_bytes:
                raise _too_large(url, max_bytes)
            out.write(chunk)
            window_bytes += len(chunk)
            if time.monotonic() - window_start >= stall_window:
                if window_bytes < STALL_BYTES:
                    out.flush()
                    raise _Stalled(f"under {STALL_BYTES} bytes in {stall_window:g} s")
                window_start, window_bytes = time.monotonic(), 0
    if written == 0:
        raise PermanentError(
            ErrorKind.DECODE, f"{redact_url(url)} is empty: the server sent no data"
        )
    return expected, written


def _open_partial(partial: Path, mode: str) -> BinaryIO:
    """The partial file, its folder made only when missing (the first download into it, or
    after the cache was cleared): no mkdir call on every download."""
    try:
        return partial.open(mode)
    except FileNotFoundError:
        partial.parent.mkdir(parents=True, exist_ok=True)
        return partial.open(mode)


def _check_room(url: str, folder: Path, size: int) -> None:
    """Refuse up front a download the disk cannot hold, instead of failing near its end."""
    try:
        free = shutil.disk_usage(folder).free
    except FileNotFoundError:  # the first download into this folder
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
    if size + SPACE_MARGIN > free:
        raise PermanentError(
            ErrorKind.DISK_FULL,
            f"not enough disk space to download {redact_url(url)}: it needs {_megabytes(size)} "
            f"and {_megabytes(SPACE_MARGIN)} kept free for notes and the database, "
            f"{_megabytes(free)} free in {folder}; {DISK_FULL_ADVICE}",
        )


def _megabytes(size: int) -> str:
    if size < 1024**2:  # "0.0 MB" for a short clip read as if it needed nothing
        return f"{size / 1024:,.0f} KB"
    return f"{size / 1024**2:,.1f} MB"


def check_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    shown = redact_url(url)
    if status == 429 or status >= 500:
        retry_after = response.headers.get("retry-after")
        raise TransientError(
            ErrorKind.RATE_LIMITED if status == 429 else ErrorKind.HTTP,
            f"{shown} answered HTTP {status}"
            + (": the server is busy" if status == 429 else ": a server error"),
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    if status in (401, 403):
        raise PermanentError(
            ErrorKind.AUTH,
            f"{shown} answered HTTP {status}: the server refused the download "
            "(a private or expired link?)",
        )
    if status >= 400:
        hint = "check the link" if status in (404, 410) else "the server refused the download"
        raise PermanentError(ErrorKind.HTTP, f"{shown} answered HTTP {status}: {hint}")


def check_media(url: str, content_type: str, head: bytes) -> None:
    """An HTML error page is not audio, whatever its Content-Type; audio labelled text is."""
    kind = content_type.split(";")[0].strip().lower() or "no content type"
    if looks_like_media(head):
        return
    if looks_like_markup(head) or NOT_MEDIA_TYPES.match(kind):
        raise PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{redact_url(url)} returned {kind}, not audio or video: is it a web page rather "
            "than a media file? Paste the direct link to the audio, or the page's feed",
        )


def probe(url: str, settings: SourceSettings) -> Probe:
    """Headers and first bytes of `url`: what it is, when its name does not say."""
    with (
        _request_errors(url, "reach"),
        http_client(settings) as client,
        client.stream("GET", url) as response,
    ):
        check_status(url, response)
        head = b""
        for chunk in response.iter_bytes(SNIFF_BYTES):
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Probe(url=str(response.url), content_type=content_type, head=head)


def fetch_bytes(url: str, settings: SourceSettings, max_bytes: int = 64 * 1024**2) -> bytes:
    """A small document (a feed, a page) in memory, with the same error mapping as downloads."""
    with (
        _request_errors(url, "fetch"),
        http_client(settings) as client,
        client.stream("GET", url) as response,
    ):
        check_status(url, response)
        body = bytearray()
        for chunk in response.iter_bytes(CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise _too_large(url, max_bytes)
        return bytes(body)


def _validator(response: httpx.Response) -> str | None:
    etag = response.headers.get("etag")
    if etag and not etag.startswith("W/"):  # weak ETags are not allowed in If-Range
        return etag
    return response.headers.get("last-modified")


def _range_total(response: httpx.Response) -> int | None:
    match = _CONTENT_RANGE_TOTAL.match(response.headers.get("content-range", ""))
    return int(match.group(1)) if match else None


def _range_start(response: httpx.Response) -> int | None:
    match = _CONTENT_RANGE_START.match(response.headers.get("content-range", ""))
    return int(match.group(1)) if match else None


def _too_large(url: str, max_bytes: int, size: int | None = None) -> PermanentError:
    actual = f" is {size // 1024**2} MB," if size else " is"
    return PermanentError(
        ErrorKind.UNSUPPORTED,
        f"{redact_url(url)}{actual} over the download limit of {max_bytes // 1024**2} MB; "
        "raise BULK_TRANSCRIBE_DOWNLOAD_MAX_BYTES to allow it",
    )
