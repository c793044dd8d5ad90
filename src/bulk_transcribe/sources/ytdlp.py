"""yt-dlp behind three calls: read metadata, list a collection, download the best audio."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bulk_transcribe.abortable import sockets_cut_on_cancel
from bulk_transcribe.addresses import AddressPolicy, connections_checked
from bulk_transcribe.errors import (
    ErrorKind,
    PermanentError,
    TranscribeError,
    TransientError,
    disk_full,
    is_disk_full,
)
from bulk_transcribe.redact import redact_url, scrub_text
from bulk_transcribe.settings import SourceSettings

log = logging.getLogger(__name__)
# yt-dlp is imported where it is used: it costs most of a second, which every CLI start paid.

InfoDict = dict[str, Any]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CAUSED_BY = re.compile(r"\s*\(caused by .*$", re.IGNORECASE | re.DOTALL)
BLOCKED_ADVICE = (
    "wait a while, run fewer items at once (-j 1), or pass --cookies with a cookies.txt "
    "exported from a signed-in browser, or --proxy"
)


class _QuietLogger:
    """yt-dlp prints to the terminal by default; its chatter belongs in our debug log."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    info = debug

    def warning(self, message: str) -> None:
        log.debug("yt-dlp warning: %s", message)

    def error(self, message: str) -> None:
        log.debug("yt-dlp error: %s", message)


def base_options(settings: SourceSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "logger": _QuietLogger(),
        "socket_timeout": settings.http_timeout,
        "retries": 3,
    }
    if settings.cookies_file:
        options["cookiefile"] = str(settings.cookies_file)
    if settings.proxy:
        options["proxy"] = settings.proxy
    return options


def extract_info(url: str, settings: SourceSettings) -> InfoDict:
    """Everything yt-dlp knows about one video or page, without downloading the media."""
    import yt_dlp

    with _fetching(url, settings), yt_dlp.YoutubeDL(base_options(settings)) as ydl:
        info = ydl.extract_info(url, download=False)
        return ydl.sanitize_info(info) or {}


def flat_entries(url: str, settings: SourceSettings) -> tuple[InfoDict, Iterator[InfoDict]]:
    """A playlist's or channel's own info and its entries, lazily, without visiting each video."""
    import yt_dlp

    options = {**base_options(settings), "extract_flat": "in_playlist", "lazy_playlist": True}
    options["noplaylist"] = False
    with _fetching(url, settings):
        ydl = yt_dlp.YoutubeDL(options)
        info = ydl.extract_info(url, download=False) or {}

    def entries() -> Iterator[InfoDict]:
        # A lazy playlist fetches its further pages while it is read: each step is checked,
        # and only the step (the reader's own code between steps runs unguarded).
        listed, end = iter(info.get("entries") or ()), object()
        try:
            while True:
                with _fetching(url, settings):
                    entry = next(listed, end)
                if entry is end:
                    return
                if entry:
                    yield entry
        finally:
            ydl.close()

    return info, entries()


def download_audio(
    url: str,
    folder: Path,
    stem: str,
    settings: SourceSettings,
    check_cancelled: Callable[[], None] = lambda: None,
) -> tuple[Path, InfoDict]:
    """The best audio-only format of `url` as `<folder>/<stem>.<ext>`, and what yt-dlp saw.

    A file already there is reused (then without info).

    No post-processing: PyAV decodes whatever container comes, so no system ffmpeg is needed.
    """
    import yt_dlp

    cached = cached_audio(folder, stem)
    if cached is not None:
        return cached, {}
    folder.mkdir(parents=True, exist_ok=True)

    def on_progress(_status: dict[str, Any]) -> None:
        check_cancelled()

    options = {
        **base_options(settings),
        "format": "bestaudio/best",
        "outtmpl": str(folder / f"{stem}.%(ext)s"),
        "max_filesize": settings.download_max_bytes,
        "progress_hooks": [on_progress],
        "postprocessors": [],
    }
    with _fetching(url, settings), yt_dlp.YoutubeDL(options) as ydl:
        info = ydl.extract_info(url, download=True) or {}
    downloads = info.get("requested_downloads") or [{}]
    path = downloads[0].get("filepath")
    if path and Path(path).is_file():
        return Path(path), info
    found = cached_audio(folder, stem)
    if found is None:
        raise PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{redact_url(url)}: no downloadable audio "
            "(larger than the download limit, or live only?)",
        )
    return found, info


def cached_audio(folder: Path, stem: str) -> Path | None:
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob(f"{glob_escape(stem)}.*")):
        if path.suffix not in (".part", ".ytdl", ".tmp") and path.stat().st_size > 0:
            return path
    return None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


@contextmanager
def _fetching(url: str, settings: SourceSettings) -> Iterator[None]:
    """yt-dlp at work on `url`: every connection it opens checked against the address policy
    (it follows redirects and fetches the media links a page names, which no URL check before
    it sees) and cut when the item is cancelled (abortable.py), and its errors raised in words
    a user can act on — the policy's refusal when that is what stopped it (yt-dlp reports it
    as a failed connection)."""
    from yt_dlp.utils import YoutubeDLError

    policy = AddressPolicy.from_settings(settings)
    # Outermost: a request the item's cancel cut ends as Cancelled, not as yt-dlp's error.
    with sockets_cut_on_cancel(), connections_checked(policy, settings.proxy) as guard:
        try:
            yield
        except YoutubeDLError as exc:
            if guard.refusal is not None:
                message = f"{redact_url(url)}: {guard.refusal.message}"
                raise PermanentError(ErrorKind.BLOCKED, message) from exc
            raise map_error(exc, url) from exc


def map_error(exc: Exception, url: str) -> TranscribeError:
    """yt-dlp reports everything as text; turn the known cases into errors a user can act on."""
    if isinstance(exc, TranscribeError):
        return exc
    exc_info = getattr(exc, "exc_info", None)  # DownloadError keeps what a hook raised
    cause = exc_info[1] if exc_info else None
    if isinstance(cause, TranscribeError):  # our own (e.g. Cancelled) raised inside a hook
        return cause
    url = redact_url(url)  # the real one was for the request only
    if is_disk_full(exc) or is_disk_full(cause):
        return disk_full(f"downloading {url}")
    text = _ANSI.sub("", str(exc)).removeprefix("ERROR: ").strip()
    text = scrub_text(_CAUSED_BY.sub("", text))  # the same failure again, as a Python repr
    lowered = text.lower()
    if "not a bot" in lowered or "http error 429" in lowered or "too many requests" in lowered:
        return TransientError(
            ErrorKind.RATE_LIMITED,
            f"{url}: YouTube is refusing requests from this address ({text}); {BLOCKED_ADVICE}",
            retry_after=60.0,
        )
    if "private video" in lowered or "video is private" in lowered:
        return PermanentError(
            ErrorKind.AUTH,
            f"{url} is private: only its owner's invited accounts can see it "
            "(pass --cookies from such an account)",
        )
    if "confirm your age" in lowered or "age-restricted" in lowered or "members" in lowered:
        return PermanentError(
            ErrorKind.AUTH,
            f"{url} needs a signed-in account ({text}); pass --cookies with a cookies.txt "
            "exported from a browser signed in to an account that can watch it",
        )
    if any(s in lowered for s in ("unavailable", "has been removed", "does not exist", "404")):
        return PermanentError(
            ErrorKind.NOT_FOUND, f"{url} is unavailable (deleted, private or blocked): {text}"
        )
    if "unsupported url" in lowered:
        return PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{url}: no audio or video found on this page; paste a direct media link instead",
        )
    if any(s in lowered for s in ("timed out", "connection", "temporary", "http error 5")):
        return TransientError(
            ErrorKind.NETWORK, f"{url}: {text}; check the internet connection or --proxy"
        )
    return PermanentError(ErrorKind.PROVIDER, f"{url}: yt-dlp could not get it: {text}")


def metadata_from_info(info: dict[str, Any]) -> tuple[str | None, float | None, dict[str, Any]]:
    """Title, duration and the frontmatter fields from a yt-dlp info dict."""
    upload_date = info.get("upload_date")
    if isinstance(upload_date, str) and len(upload_date) == 8 and upload_date.isdigit():
        upload_date = f"{upload_date[:4]}-{upload_date[4:6]}-{upload_date[6:]}"
    chapters = [
        {"start": c.get("start_time"), "end": c.get("end_time"), "title": c.get("title")}
        for c in info.get("chapters") or []
    ]
    metadata = {
        "video_id": info.get("id") if info.get("extractor_key") == "Youtube" else None,
        "channel": info.get("channel") or info.get("uploader"),
        "channel_url": info.get("channel_url") or info.get("uploader_url"),
        "upload_date": upload_date,
        "description": info.get("description"),
        "tags": info.get("tags") or None,
        "chapters": chapters or None,
        "thumbnail": info.get("thumbnail"),
        "view_count": info.get("view_count"),
    }
    duration = info.get("duration")
    return (
        info.get("title"),
        float(duration) if isinstance(duration, int | float) else None,
        {k: v for k, v in metadata.items() if v is not None},
    )
