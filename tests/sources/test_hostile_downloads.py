"""Downloads from servers that loop, trickle, lie about sizes, leak credentials or point inward.

Every case runs against a real HTTP server on 127.0.0.1 and ends in one typed error whose
message names the link (without its secrets) and says what to do.
"""

from __future__ import annotations

import gzip
import logging
import os
import time
from pathlib import Path

import pytest

from bulk_transcribe.addresses import AddressPolicy, check_url
from bulk_transcribe.errors import ErrorKind, PermanentError, TransientError
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.redact import redact_url
from bulk_transcribe.runner import create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import FetchContext, source_for
from bulk_transcribe.sources.cache import IN_USE_SECONDS, DownloadCache
from bulk_transcribe.sources.download import cached_download, download, fetch_bytes, probe
from bulk_transcribe.store import Store
from tests.samples import EXAMPLES
from tests.sources.media_server import MediaServer, Route

MP3 = (EXAMPLES / "media" / "02_library_visit.mp3").read_bytes()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(out_dir=tmp_path, http_timeout=5)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def with_credentials(url: str) -> str:
    return url.replace("http://", "http://alice:hunter2@") + "?api_key=SECRET1&token=SECRET2"


# --- redirects ------------------------------------------------------------------------------


def test_a_redirect_loop_is_a_clear_permanent_error_everywhere(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add("/loop.mp3", Route(b"", status=302, extra_headers={"Location": "/a"}))
    media_server.add("/a", Route(b"", status=302, extra_headers={"Location": "/loop.mp3"}))
    for attempt in (
        lambda: download(url, tmp_path / "cache" / "x.mp3", settings),
        lambda: probe(url, settings),
        lambda: fetch_bytes(url, settings),
    ):
        with pytest.raises(PermanentError) as raised:
            attempt()
        assert raised.value.kind is ErrorKind.HTTP
        assert raised.value.message.startswith(f"{url} redirects in a loop")
    assert files_in(tmp_path / "cache") == []


def test_a_redirect_to_a_local_file_is_refused_as_not_a_web_download(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add(
        "/ep.mp3", Route(b"", status=302, extra_headers={"Location": "file:///etc/passwd"})
    )
    with pytest.raises(PermanentError) as raised:
        download(url, tmp_path / "x.mp3", settings)
    assert raised.value.kind is ErrorKind.UNSUPPORTED
    assert "a file: address" in raised.value.message and "/etc/passwd" in raised.value.message
    assert "not an http(s) download" in raised.value.message
    assert "connection" not in raised.value.message


# --- sizes and speeds ------------------------------------------------------------------------


def test_a_trickling_server_stalls_the_download_instead_of_holding_the_batch(
    media_server: MediaServer, tmp_path: Path
) -> None:
    url = media_server.add("/slow.mp3", Route(MP3[:400], "audio/mpeg", trickle_seconds=0.02))
    settings = Settings(out_dir=tmp_path, http_timeout=30, download_stall_seconds=0.3)
    with pytest.raises(TransientError) as raised:
        download(url, tmp_path / "cache" / "slow.mp3", settings)
    assert raised.value.kind is ErrorKind.TIMEOUT
    assert "the download stalled" in raised.value.message and "resume later" in raised.value.message
    assert files_in(tmp_path / "cache") == []


def test_a_huge_content_length_is_refused_before_any_byte_is_written(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    url = media_server.add("/huge.mp3", Route(MP3[:1000], "audio/mpeg", claimed_length=10**13))
    with pytest.raises(PermanentError) as raised:
        download(url, tmp_path / "cache" / "huge.mp3", settings)
    assert raised.value.kind is ErrorKind.UNSUPPORTED
    assert "over the download limit" in raised.value.message
    assert files_in(tmp_path / "cache") == []


def test_a_download_larger_than_the_free_space_is_refused_up_front(
    media_server: MediaServer, tmp_path: Path
) -> None:
    url = media_server.add("/big.mp3", Route(MP3[:1000], "audio/mpeg", claimed_length=10**15))
    settings = Settings(out_dir=tmp_path, http_timeout=5, download_max_bytes=10**16)
    with pytest.raises(PermanentError) as raised:
        download(url, tmp_path / "cache" / "big.mp3", settings)
    assert raised.value.kind is ErrorKind.DISK_FULL
    assert "not enough disk space" in raised.value.message
    assert "free some space" in raised.value.message
    assert files_in(tmp_path / "cache") == []


def test_a_short_clip_refused_for_the_space_kept_free_says_what_that_space_is_for(
    media_server: MediaServer, small_disk: Path
) -> None:
    url = media_server.add("/clip.mp3", Route(MP3, "audio/mpeg"))  # 37 KB
    settings = Settings(out_dir=small_disk, http_timeout=5)
    with pytest.raises(PermanentError) as raised:
        download(url, small_disk / "cache" / "clip.mp3", settings)
    assert raised.value.kind is ErrorKind.DISK_FULL
    message = raised.value.message
    assert "it needs 37 KB and 64.0 MB kept free for notes and the database" in message
    assert "0.0 MB" not in message  # it read "it is 0.0 MB, 2.0 MB free": as if it fitted


def test_a_full_disk_during_a_download_is_disk_full_and_leaves_no_partial(
    media_server: MediaServer, small_disk: Path
) -> None:
    body = MP3 * (3 * 1024**2 // len(MP3) + 1)  # 3 MB onto a 2 MB disk, size not announced
    url = media_server.add("/long.mp3", Route(body, "audio/mpeg", claimed_length=-1))
    settings = Settings(out_dir=small_disk, http_timeout=5)
    with pytest.raises(PermanentError) as raised:
        cached_download(url, small_disk / "cache", settings)
    assert raised.value.kind is ErrorKind.DISK_FULL
    assert raised.value.message.startswith(f"disk full while downloading {url}")
    assert files_in(small_disk / "cache") == []


# --- credentials ---------------------------------------------------------------------------


def test_credentials_in_a_link_never_reach_a_message_or_a_log(
    media_server: MediaServer, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    media_server.add("/private.mp3", Route(MP3, "audio/mpeg", drop_after=100, drops=1))
    media_server.add("/gone.mp3", Route(b"", status=404))
    caplog.set_level(logging.DEBUG)
    download(with_credentials(media_server.url("/private.mp3")), tmp_path / "a.mp3", settings)
    with pytest.raises(PermanentError) as raised:
        download(with_credentials(media_server.url("/gone.mp3")), tmp_path / "b.mp3", settings)
    shown = raised.value.message
    assert redact_url(with_credentials(media_server.url("/gone.mp3"))) in shown
    for secret in ("hunter2", "SECRET1", "SECRET2"):
        assert secret not in shown
        assert secret not in caplog.text
    assert "interrupted" in caplog.text  # the dropped connection was logged, scrubbed
    # The real credentials did reach the server: the request needs them.
    seen = media_server.requests_to("/private.mp3")[0]
    assert seen.headers["Authorization"].startswith("Basic ")


# --- addresses a link may reach --------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "what"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/internal.mp3", "private network"),
        ("http://[fd00::1]/internal.mp3", "private network"),
    ],
)
def test_redirects_into_private_networks_are_blocked(
    media_server: MediaServer, settings: Settings, tmp_path: Path, target: str, what: str
) -> None:
    url = media_server.add("/ep.mp3", Route(b"", status=302, extra_headers={"Location": target}))
    with pytest.raises(PermanentError) as raised:
        download(url, tmp_path / "x.mp3", settings)
    assert raised.value.kind is ErrorKind.BLOCKED
    assert what in raised.value.message and "--allow-private-addresses" in raised.value.message
    assert raised.value.message.startswith(f"{url}: ")  # the link, then why it was refused


def test_private_addresses_pass_when_allowed_and_loopback_is_refused_when_served_publicly(
    media_server: MediaServer, tmp_path: Path
) -> None:
    check_url("http://10.1.2.3/a.mp3", AddressPolicy(allow_private=True))
    check_url("http://192.168.1.20/a.mp3", AddressPolicy.from_settings(
        Settings(allow_private_addresses=True)
    ))  # fmt: skip
    url = media_server.add("/ep.mp3", Route(MP3, "audio/mpeg"))
    public = Settings(out_dir=tmp_path, public_addresses_only=True, allow_private_addresses=True)
    with pytest.raises(PermanentError) as raised:
        download(url, tmp_path / "x.mp3", public)
    assert raised.value.kind is ErrorKind.BLOCKED
    assert "loopback" in raised.value.message and "always refused" in raised.value.message
    assert media_server.requests_to("/ep.mp3") == []
    assert "public_addresses_only" not in public.public_dict()


# --- the cache -------------------------------------------------------------------------------


def fetch_item(store: Store, settings: Settings, url: str):
    session = create_session(store, settings, [ItemSpec(url, SourceType.HTTP_MEDIA)])
    [item] = store.items(session.id)
    context = FetchContext(settings, settings.out_dir / "cache", lambda: None)
    return source_for(SourceType.HTTP_MEDIA).fetch(item, context)


def test_a_download_that_does_not_decode_is_dropped_from_the_cache_and_fetched_again(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    garbage = b"ID3" + bytes(range(256)) * 400
    url = media_server.add("/ep.mp3", Route(garbage, "audio/mpeg"))
    with Store(tmp_path / "db.sqlite") as store:
        with pytest.raises(PermanentError) as raised:
            fetch_item(store, settings, url)
        assert raised.value.kind is ErrorKind.DECODE
        assert raised.value.message.startswith(f"{url} is not audio or video")
        assert files_in(tmp_path / "cache") == []
        media_server.add("/ep.mp3", Route(MP3, "audio/mpeg"))  # the host fixed its file
        fetched = fetch_item(store, settings.model_copy(update={"force": True}), url)
    assert fetched.media is not None and fetched.media.path.read_bytes() == MP3
    assert len(media_server.requests_to("/ep.mp3")) == 2


def test_the_cache_keeps_under_its_cap_evicting_the_least_recently_used(
    media_server: MediaServer, tmp_path: Path
) -> None:
    size_mb = len(MP3) / 1024**2
    settings = Settings(out_dir=tmp_path, http_timeout=5, cache_max_mb=size_mb * 2.5)
    cache_dir = tmp_path / "cache"
    urls = [media_server.add(f"/ep{n}.mp3", Route(MP3, "audio/mpeg")) for n in range(3)]
    first, second = (cached_download(url, cache_dir, settings) for url in urls[:2])
    long_ago = time.time() - 2 * IN_USE_SECONDS
    os.utime(first, (long_ago, long_ago))
    os.utime(second, (long_ago - 60, long_ago - 60))  # used before the first one
    cached_download(urls[0], cache_dir, settings)  # a hit: the first is now the recent one
    third = cached_download(urls[2], cache_dir, settings)
    assert first.exists() and third.exists()
    assert not second.exists()
    assert DownloadCache(cache_dir).usage().files == 2
    assert len(media_server.requests_to("/ep0.mp3")) == 1


def test_a_download_asks_for_the_file_as_stored_and_takes_a_gzipped_one_whole(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    plain = media_server.add("/plain.mp3", Route(MP3, "audio/mpeg"))
    # A server that gzips whatever the client asked (its Content-Length counts coded bytes).
    coded = media_server.add(
        "/coded.mp3",
        Route(gzip.compress(MP3), "audio/mpeg", extra_headers={"Content-Encoding": "gzip"}),
    )
    assert download(plain, tmp_path / "plain.mp3", settings) == len(MP3)
    assert media_server.requests_to("/plain.mp3")[0].headers["Accept-Encoding"] == "identity"
    assert download(coded, tmp_path / "coded.mp3", settings) == len(MP3)
    assert (tmp_path / "coded.mp3").read_bytes() == MP3


SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("librivox_dashwood_telephone.wav", "audio/wav"), ("ljspeech_rare_names.opus", "audio/ogg")],
)
def test_a_server_announcing_a_shorter_length_than_its_file_gives_no_done_item(
    media_server: MediaServer, settings: Settings, tmp_path: Path, name: str, content_type: str
) -> None:
    """The client reads exactly the announced bytes and the download looks whole; the file
    then holds far less than it declares: a retryable network failure naming the link and
    what arrived, nothing kept in the cache, and the whole file once the server is fixed."""
    body = (SPEECH / name).read_bytes()
    announced = len(body) // 5
    url = media_server.add(f"/{name}", Route(body, content_type, claimed_length=announced))
    with Store(tmp_path / "db.sqlite") as store:
        with pytest.raises(TransientError) as raised:
            fetch_item(store, settings, url)
        assert raised.value.kind is ErrorKind.NETWORK
        message = raised.value.message
        assert message.startswith(f"{url}: the server sent {announced:,} bytes of a file that")
        assert "cut short" in message and "`resume` retries it" in message
        assert files_in(tmp_path / "cache") == []
        media_server.add(f"/{name}", Route(body, content_type))  # the host fixed its server
        fetched = fetch_item(store, settings.model_copy(update={"force": True}), url)
    assert fetched.media is not None and fetched.media.path.read_bytes() == body
    assert fetched.duration is not None and fetched.duration > 7


def test_a_whole_file_sent_without_a_length_or_gzipped_is_not_called_cut(
    media_server: MediaServer, settings: Settings, tmp_path: Path
) -> None:
    body = (SPEECH / "librivox_dashwood_telephone.wav").read_bytes()
    unsized = media_server.add("/unsized.wav", Route(body, "audio/wav", claimed_length=-1))
    coded = media_server.add(
        "/coded.wav",
        Route(gzip.compress(body), "audio/wav", extra_headers={"Content-Encoding": "gzip"}),
    )
    with Store(tmp_path / "db.sqlite") as store:
        for url in (unsized, coded):
            fetched = fetch_item(store, settings, url)
            assert fetched.media is not None and fetched.media.path.read_bytes() == body
