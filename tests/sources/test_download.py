"""The httpx downloader against a real local server that misbehaves like real media hosts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bulk_transcribe.errors import Cancelled, ErrorKind, PermanentError, TransientError
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import download as download_module
from bulk_transcribe.sources.download import cache_path, cached_download, download, probe
from tests.samples import EXAMPLES, REPO
from tests.sources.media_server import MediaServer, Route

MP3 = (EXAMPLES / "media" / "02_library_visit.mp3").read_bytes()
HTML_ERROR = b"<!DOCTYPE html><html><body><h1>Session expired</h1></body></html>"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(out_dir=tmp_path, http_timeout=5)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_a_media_file_is_downloaded_once_and_then_served_from_the_cache(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add("/show/ep1.mp3", Route(MP3, "audio/mpeg"))
    first = cached_download(url, tmp_path / "cache", settings)
    second = cached_download(url, tmp_path / "cache", settings)
    assert first == second == cache_path(tmp_path / "cache", url)
    assert first.suffix == ".mp3"
    assert first.read_bytes() == MP3
    assert len(media_server.requests_to("/show/ep1.mp3")) == 1


def test_a_link_without_extension_is_accepted_by_its_content_type(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add("/download", Route(MP3, "audio/mpeg"))
    path = cached_download(url, tmp_path / "cache", settings)
    assert path.read_bytes() == MP3


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", None])
def test_audio_under_a_wrong_content_type_is_recognised_by_its_bytes(
    media_server: MediaServer, settings: Settings, tmp_path: Path, content_type: str | None
) -> None:
    url = media_server.add("/ep.mp3", Route(MP3, content_type))
    assert cached_download(url, tmp_path / "cache", settings).read_bytes() == MP3


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "audio/mpeg"])
def test_an_html_page_is_not_audio_whatever_its_content_type_says(
    media_server: MediaServer, settings: Settings, tmp_path: Path, content_type: str
) -> None:
    url = media_server.add("/ep.mp3", Route(HTML_ERROR, content_type))
    with pytest.raises(PermanentError) as caught:
        cached_download(url, tmp_path / "cache", settings)
    assert caught.value.kind is ErrorKind.UNSUPPORTED
    assert "not audio or video" in caught.value.message
    assert leftovers(tmp_path / "cache") == []


def test_http_errors_are_typed_by_whether_retrying_can_help(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    gone = media_server.url("/missing.mp3")
    busy = media_server.add("/busy.mp3", Route(b"", "text/plain", status=503))
    limited = media_server.add(
        "/limited.mp3", Route(b"", "text/plain", status=429, extra_headers={"Retry-After": "7"})
    )
    with pytest.raises(PermanentError) as not_found:
        cached_download(gone, tmp_path / "cache", settings)
    assert "HTTP 404" in not_found.value.message
    with pytest.raises(TransientError) as unavailable:
        cached_download(busy, tmp_path / "cache", settings)
    assert unavailable.value.kind is ErrorKind.HTTP
    with pytest.raises(TransientError) as rate_limited:
        cached_download(limited, tmp_path / "cache", settings)
    assert (rate_limited.value.kind, rate_limited.value.retry_after) == (ErrorKind.RATE_LIMITED, 7)
    assert leftovers(tmp_path / "cache") == []


def test_a_dropped_connection_resumes_with_range_where_it_stopped(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add(
        "/ep.mp3", Route(MP3, "audio/mpeg", drop_after=10_000, drops=2, etag='"v1"')
    )
    target = tmp_path / "ep.mp3"
    download(url, target, settings)
    assert target.read_bytes() == MP3
    ranges = [r.headers.get("Range") for r in media_server.requests_to("/ep.mp3")]
    assert ranges == [None, "bytes=10000-", "bytes=20000-"]
    resumed = media_server.requests_to("/ep.mp3")[1]
    assert resumed.headers.get("If-Range") == '"v1"'  # never splice two versions of a file


def test_a_server_without_range_support_is_downloaded_again_from_the_start(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add(
        "/ep.mp3", Route(MP3, "audio/mpeg", ranges=False, drop_after=10_000, drops=1)
    )
    target = tmp_path / "ep.mp3"
    download(url, target, settings)
    assert target.read_bytes() == MP3
    assert len(media_server.requests_to("/ep.mp3")) == 2


def test_a_connection_that_keeps_dropping_fails_transiently_and_leaves_no_partial_file(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add(
        "/ep.mp3", Route(MP3, "audio/mpeg", ranges=False, drop_after=5_000, drops=100)
    )
    with pytest.raises(TransientError) as caught:
        download(url, tmp_path / "ep.mp3", settings)
    assert caught.value.kind is ErrorKind.NETWORK
    assert "kept dropping" in caught.value.message
    assert leftovers(tmp_path) == []


def test_a_server_that_refuses_connections_is_named_as_unreachable_not_dropping(
    settings: Settings, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/ep.mp3"
    with pytest.raises(TransientError) as caught:
        download(url, tmp_path / "ep.mp3", settings)
    assert caught.value.kind is ErrorKind.NETWORK
    assert caught.value.message.startswith(f"could not connect to download {url} (")
    assert "server up; then resume" in caught.value.message
    assert "kept dropping" not in caught.value.message
    assert leftovers(tmp_path) == []


def test_a_file_over_the_size_ceiling_is_refused(media_server: MediaServer, tmp_path: Path) -> None:
    settings = Settings(out_dir=tmp_path, download_max_bytes=20_000)
    announced = media_server.add("/big.mp3", Route(MP3, "audio/mpeg"))
    with pytest.raises(PermanentError) as caught:
        download(announced, tmp_path / "big.mp3", settings)
    assert "over the download limit" in caught.value.message
    assert leftovers(tmp_path) == []


def test_cancelling_stops_the_download_and_removes_the_partial_file(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add("/ep.mp3", Route(MP3 * 40, "audio/mpeg"))

    def cancel() -> None:
        raise Cancelled()

    with pytest.raises(Cancelled):
        download(url, tmp_path / "ep.mp3", settings, cancel)
    assert leftovers(tmp_path) == []


def test_probe_tells_media_feeds_and_web_pages_apart(
    media_server: MediaServer, settings: Settings
) -> None:
    media = media_server.add("/media", Route(MP3, "application/octet-stream"))
    feed = media_server.add("/feed", Route(b'<?xml version="1.0"?><rss version="2.0">', "text/xml"))
    page = media_server.add("/page", Route(HTML_ERROR, "text/html; charset=utf-8"))
    assert probe(media, settings).is_media
    assert probe(feed, settings).is_feed and not probe(feed, settings).is_media
    found = probe(page, settings)
    assert found.is_html and not found.is_media and found.content_type == "text/html"


def test_two_downloads_of_one_link_to_one_file_at_once_never_publish_a_partial(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add("/slow.mp3", Route(MP3[:8000], "audio/mpeg", trickle_seconds=0.0002))
    target = tmp_path / "cache" / "http" / "slow.mp3"
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            download(url, target, settings)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=fetch) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert errors == []
    assert target.read_bytes() == MP3[:8000]
    assert leftovers(target.parent) == ["slow.mp3"]


def test_every_link_locks_a_byte_of_one_file_however_many_are_fetched(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    """A lock file per link grew its folder by one file a download, forever; 4,096 striped
    files made links share locks, and each download opened its lock file anew. Links fetched
    at the same time all arrive whole, each downloaded once."""
    urls = [
        media_server.add(f"/show/ep{n}.mp3", Route(MP3[:4000], "audio/mpeg", trickle_seconds=1e-4))
        for n in range(12)
    ]
    fetched: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def fetch(url: str) -> None:
        try:
            fetched[url] = cached_download(url, tmp_path / "cache", settings).read_bytes()
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert errors == []
    assert fetched == dict.fromkeys(urls, MP3[:4000])
    assert leftovers(tmp_path / ".cache-locks") == [download_module.LOCK_FILE]
    assert all(len(media_server.requests_to(f"/show/ep{n}.mp3")) == 1 for n in range(12))


@pytest.mark.parametrize("claimed_length", [None, -1], ids=["sized", "unsized"])
def test_a_download_says_its_size_and_makes_its_folder_only_when_missing(
    media_server: MediaServer,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    claimed_length: int | None,
) -> None:
    made: list[str] = []
    real_mkdir = download_module.os.mkdir

    def counting_mkdir(path: object, *args: object, **kwargs: object) -> None:
        made.append(str(path))
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(download_module.os, "mkdir", counting_mkdir)
    folder = tmp_path / "not" / "there" / "yet"
    for n in range(3):
        if n == 1:
            assert str(folder) in made  # the first download made the folders
            made.clear()
        route = Route(MP3, "audio/mpeg", claimed_length=claimed_length)
        url = media_server.add(f"/ep{n}.mp3", route)
        assert download(url, folder / f"ep{n}.mp3", settings) == len(MP3)
        assert (folder / f"ep{n}.mp3").read_bytes() == MP3
    assert made == []  # the next two found them there, without asking
    assert leftovers(folder) == ["ep0.mp3", "ep1.mp3", "ep2.mp3"]


def test_a_download_after_the_cache_folder_was_cleared_makes_it_again(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    first = media_server.add("/a.mp3", Route(MP3, "audio/mpeg"))
    second = media_server.add("/b.mp3", Route(MP3, "audio/mpeg"))
    cached_download(first, tmp_path / "cache", settings)
    for path in sorted((tmp_path / "cache").rglob("*"), reverse=True):  # `cache --clear`
        path.rmdir() if path.is_dir() else path.unlink()
    assert cached_download(second, tmp_path / "cache", settings).read_bytes() == MP3
    assert cached_download(first, tmp_path / "cache", settings).read_bytes() == MP3
    assert len(media_server.requests_to("/a.mp3")) == 2  # gone from the cache: fetched again


_DOWNLOAD_IN_A_CHILD = """
import sys
from pathlib import Path
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.download import cached_download
cached_download(sys.argv[1], Path(sys.argv[2]), Settings(out_dir=Path(sys.argv[2]).parent))
"""


def test_a_download_killed_mid_way_leaves_nothing_once_the_link_is_fetched_again(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add("/talk.mp3", Route(MP3, "audio/mpeg", trickle_seconds=0.01))
    cache_dir = tmp_path / "cache"
    child = subprocess.Popen(
        [sys.executable, "-c", _DOWNLOAD_IN_A_CHILD, url, str(cache_dir)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])},
    )
    try:
        deadline = time.monotonic() + 60
        while not list(cache_dir.rglob("*.part")):  # the download is under way
            assert child.poll() is None and time.monotonic() < deadline, "no partial download"
            time.sleep(0.05)
    finally:
        child.kill()  # SIGKILL: no cleanup runs
        child.wait()
    media_server.add("/talk.mp3", Route(MP3, "audio/mpeg"))

    path = cached_download(url, cache_dir, settings)

    assert path.read_bytes() == MP3
    assert leftovers(cache_dir) == [path.name]  # the killed download's partial went with it
