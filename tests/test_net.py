"""One way out to the network: every client connects to the very address it checked.

Real HTTP on 127.0.0.1. The one thing faked is the resolver (`socket.getaddrinfo`), to play a
name that answers differently the second time (DNS rebinding); the network jail keeps any
connection beyond this machine from leaving it, and records where each one went.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bulk_transcribe import net
from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.errors import ErrorKind, PermanentError, TranscribeError
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.download import download, fetch_bytes
from tests.network_jail import network_jail
from tests.sources.media_server import MediaServer, Route, running_server

PUBLIC = "93.184.216.34"  # what a public host resolves to; never reached from a test
NAME = "media.rebind.test"
SERVED_PUBLICLY = AddressPolicy(allow_loopback=False, allow_private=False)


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    with running_server() as server:
        yield server


Resolver = Callable[[list[str]], list[str]]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], list[str]]:
    """`resolver([a, b])`: NAME resolves to a the first time and b every time after; returns
    the list of lookups of NAME as they happen."""
    real = socket.getaddrinfo

    def install(answers: list[str]) -> list[str]:
        lookups: list[str] = []

        def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            if host != NAME:
                return real(host, port, *args, **kwargs)
            answer = answers[min(len(lookups), len(answers) - 1)]
            lookups.append(answer)
            return real(answer, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install


@pytest.mark.parametrize("rebound_to", ["127.0.0.1", "10.255.255.1"])
def test_a_name_that_resolves_elsewhere_the_second_time_gets_no_connection_there(
    media_server: MediaServer, resolver, tmp_path: Path, rebound_to: str
) -> None:
    port = media_server.base.rsplit(":", 1)[1]
    media_server.add("/ep.mp3", Route(b"ID3" + b"\0" * 4096, "audio/mpeg"))
    lookups = resolver([PUBLIC, rebound_to])
    settings = Settings(out_dir=tmp_path, public_addresses_only=True, http_timeout=5)

    with network_jail() as connected, pytest.raises(TranscribeError):
        download(f"http://{NAME}:{port}/ep.mp3", tmp_path / "ep.mp3", settings)

    # Each try looked the name up once and connected to what it checked: the public address
    # (kept off the network here), never the address a later lookup gave.
    assert lookups[0] == PUBLIC and rebound_to in lookups
    assert connected and set(connected) == {PUBLIC}
    assert media_server.requests == []


def test_a_name_resolving_into_this_machine_is_refused_before_any_connection(
    media_server: MediaServer, resolver, tmp_path: Path
) -> None:
    port = media_server.base.rsplit(":", 1)[1]
    resolver(["127.0.0.1"])
    settings = Settings(out_dir=tmp_path, public_addresses_only=True)

    with network_jail() as connected, pytest.raises(PermanentError) as raised:
        fetch_bytes(f"http://{NAME}:{port}/feed.xml", settings)

    assert raised.value.kind is ErrorKind.BLOCKED
    assert f"{NAME} (127.0.0.1) is this machine (loopback)" in raised.value.message
    assert connected == []


def test_a_proxy_on_this_machine_is_reachable_at_its_port_and_no_other(
    media_server: MediaServer, resolver
) -> None:
    # The media server stands in for a proxy: it answers the absolute URL it is asked for.
    resolver([PUBLIC])
    proxied = f"http://{NAME}/ep.mp3"
    media_server.add(proxied, Route(b"ID3 through the proxy", "audio/mpeg"))
    other = socket.create_server(("127.0.0.1", 0))
    other_port = other.getsockname()[1]
    try:
        with net.guarded_client(SERVED_PUBLICLY, proxy=media_server.base) as client:
            assert client.get(proxied).content == b"ID3 through the proxy"
            with pytest.raises(PermanentError, match="loopback"):
                client.get(f"http://127.0.0.1:{other_port}/latest/meta-data/")
        proxy_port = int(media_server.base.rsplit(":", 1)[1])
        backend = net.GuardedBackend(SERVED_PUBLICLY, [("127.0.0.1", proxy_port)])
        backend.connect_tcp("127.0.0.1", proxy_port).close()
        with pytest.raises(PermanentError, match="loopback"):
            backend.connect_tcp("127.0.0.1", other_port)
    finally:
        other.close()
    assert [seen.path for seen in media_server.requests] == [proxied]


def test_the_environment_s_proxy_is_used_and_no_proxy_hosts_are_reached_directly(
    media_server: MediaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxied = "http://media.example/ep.mp3"
    media_server.add(proxied, Route(b"via proxy", "audio/mpeg"))
    media_server.add("/direct.mp3", Route(b"direct", "audio/mpeg"))
    monkeypatch.setenv("HTTP_PROXY", media_server.base)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with net.guarded_client(AddressPolicy()) as client:
        assert client.get(media_server.url("/direct.mp3")).content == b"direct"
        # the name is not resolved here (a proxy resolves it): nothing to refuse
        assert client.get(proxied).content == b"via proxy"
    assert [seen.path for seen in media_server.requests] == ["/direct.mp3", proxied]


def test_downloads_on_threads_of_their_own_reuse_one_connection_to_a_host(
    media_server: MediaServer, tmp_path: Path
) -> None:
    """The thread executor starts a thread per item: connections must outlive the thread."""
    for name in ("a", "b", "c", "d"):
        media_server.add(f"/{name}.mp3", Route(b"ID3" + name.encode() * 2048, "audio/mpeg"))
    settings = Settings(out_dir=tmp_path)

    for name in ("a", "b", "c", "d"):  # one item after another, each on a new thread
        worker = threading.Thread(
            target=download,
            args=(media_server.url(f"/{name}.mp3"), tmp_path / name / f"{name}.mp3", settings),
        )
        worker.start()
        worker.join()

    ports = [seen.client_port for seen in media_server.requests]
    assert len(ports) == 4
    assert len(set(ports)) == 1  # one TCP connection for the four items
    assert all((tmp_path / n / f"{n}.mp3").read_bytes()[:3] == b"ID3" for n in "abcd")
    assert net.ssl_context() is net.ssl_context()


def test_downloads_at_the_same_time_never_share_a_client(tmp_path: Path) -> None:
    """Each download has its client to itself while it runs (its cookies are its own)."""
    key = ("test", tmp_path)
    made: list[httpx.Client] = []

    def make() -> httpx.Client:
        made.append(net.guarded_client(AddressPolicy()))
        return made[-1]

    with net.borrowed_client(key, make) as first, net.borrowed_client(key, make) as second:
        assert first is not second
        first.cookies.set("session", "of-link-one")
    with net.borrowed_client(key, make) as again:
        assert again in (first, second) and len(made) == 2  # kept, not made anew
        assert not again.cookies  # nothing carried over from the link before
    for client in made:
        client.close()


def test_every_client_of_the_product_is_guarded(
    resolver, tmp_path: Path, media_server: MediaServer
) -> None:
    """Provider clients, search and the chat model connect through the same guard."""
    from bulk_transcribe.research.data_api import DataApiSearch

    port = media_server.base.rsplit(":", 1)[1]
    resolver(["127.0.0.1"])
    inside = f"http://{NAME}:{port}/"
    with (
        net.provider_client("openai", policy=SERVED_PUBLICLY) as client,
        pytest.raises(PermanentError, match="loopback"),
    ):
        client.get(inside)
    with (
        DataApiSearch("k", f"http://other.invalid:{port}/v3", policy=SERVED_PUBLICLY) as api,
        pytest.raises(PermanentError, match="loopback"),
    ):
        api._client.get(inside)
    # The configured endpoint itself may be anywhere: the operator chose it.
    media_server.add("/v3/ping", Route(b"{}", "application/json"))
    with DataApiSearch("k", f"http://127.0.0.1:{port}/v3", policy=SERVED_PUBLICLY) as api:
        assert api._client.get("ping").status_code == 200
    assert [seen.path for seen in media_server.requests] == ["/v3/ping"]


def test_caption_requests_are_checked_as_they_connect(media_server: MediaServer, resolver) -> None:
    """youtube-transcript-api speaks `requests`: its session is guarded at connect time too."""
    import requests

    port = media_server.base.rsplit(":", 1)[1]
    resolver([PUBLIC, "127.0.0.1"])
    session = net.requests_session(SERVED_PUBLICLY)
    url = f"http://{NAME}:{port}/api/timedtext"
    with network_jail():
        with pytest.raises(requests.ConnectionError):  # the public address, kept off the network
            session.get(url, timeout=5)
        with pytest.raises(PermanentError) as raised:  # the next lookup says: this machine
            session.get(url, timeout=5)
    assert raised.value.kind is ErrorKind.BLOCKED
    assert "this machine (loopback)" in raised.value.message
    assert media_server.requests == []
