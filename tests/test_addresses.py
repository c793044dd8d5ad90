"""Where yt-dlp may connect: a page on a trusted server must not lead it into private networks.

Real yt-dlp against a real HTTP server on 127.0.0.1; the addresses it is led to (10.x,
169.254.169.254) never answer here, so without the guard each case would end in a slow
connection failure instead of an immediate, explained refusal.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_transcribe.addresses import (
    AddressPolicy,
    BlockedConnection,
    connections_checked,
)
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.web_page import WebPageSource
from tests.sources.items import make_context, make_item
from tests.sources.media_server import MediaServer, Route, running_server

INSIDE = "http://10.255.255.1/internal/recording.m4a"
METADATA = "http://169.254.169.254/latest/meta-data/iam/"


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    with running_server() as server:
        yield server


def page_with_audio(src: str) -> bytes:
    return (
        "<!DOCTYPE html><html><head><title>Episode 7</title></head><body>"
        f'<audio controls><source src="{src}" type="audio/mp4"></audio></body></html>'
    ).encode()


def fetch_page(url: str, tmp_path: Path, **settings: object) -> None:
    chosen = Settings(**{"out_dir": tmp_path, "http_timeout": 5, **settings})
    context = make_context(chosen, tmp_path / "cache")
    WebPageSource().fetch(make_item(url, SourceType.WEB_PAGE), context)


def test_a_media_link_inside_a_page_that_points_into_a_private_network_is_refused(
    media_server: MediaServer, tmp_path: Path
) -> None:
    page = media_server.add("/episodes/7", Route(page_with_audio(INSIDE), "text/html"))

    with pytest.raises(PermanentError) as raised:
        fetch_page(page, tmp_path)

    assert raised.value.kind is ErrorKind.BLOCKED
    message = raised.value.message
    assert message.startswith(f"{page}: a link led to 10.255.255.1, a private network address")
    assert "--allow-private-addresses" in message


def test_a_page_that_redirects_to_the_cloud_metadata_address_is_refused(
    media_server: MediaServer, tmp_path: Path
) -> None:
    page = media_server.add(
        "/episodes/8", Route(b"", status=302, extra_headers={"Location": METADATA})
    )

    with pytest.raises(PermanentError) as raised:
        fetch_page(page, tmp_path)

    assert raised.value.kind is ErrorKind.BLOCKED
    assert "169.254.169.254, a link-local address" in raised.value.message


def test_allowed_private_addresses_are_tried_like_any_other(
    media_server: MediaServer, tmp_path: Path
) -> None:
    page = media_server.add("/episodes/9", Route(page_with_audio(INSIDE), "text/html"))

    with pytest.raises(PermanentError) as raised:  # nothing answers at 10.255.255.1
        fetch_page(page, tmp_path, allow_private_addresses=True, http_timeout=1)

    assert raised.value.kind is not ErrorKind.BLOCKED, raised.value.message


@pytest.fixture
def listener() -> tuple[str, int]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()
    server.close()


def connect(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=5):
        pass


def test_the_guard_acts_on_its_thread_and_the_threads_it_starts_inside_its_block(
    listener,
) -> None:
    served_publicly = AddressPolicy(allow_loopback=False)
    started_inside: list[BaseException | None] = []
    started_before: list[BaseException | None] = []
    go = threading.Event()

    def elsewhere() -> None:
        go.wait(10)
        started_before.append(_try(connect, listener))

    bystander = threading.Thread(target=elsewhere)
    bystander.start()
    with connections_checked(served_publicly) as guard:
        with pytest.raises(BlockedConnection):
            connect(listener)
        worker = threading.Thread(target=lambda: started_inside.append(_try(connect, listener)))
        worker.start()
        worker.join()
        go.set()
        bystander.join()

    assert guard.refusal is not None and "this machine (loopback)" in guard.refusal.message
    assert isinstance(started_inside[0], BlockedConnection)  # no way around it by a thread
    assert started_before == [None]  # another thread's connections are its own business
    connect(listener)  # and after the block, nothing is checked


def test_the_configured_proxy_may_be_anywhere_but_opens_nothing_else_there(listener) -> None:
    host, port = listener
    served_publicly = AddressPolicy(allow_loopback=False)
    # Without the proxy setting, the same connection is refused ...
    with connections_checked(served_publicly):
        refused = _try(connect, listener)
    # ... with it, the proxy on this machine is reached.
    with connections_checked(served_publicly, f"http://{host}:{port}") as guard:
        reached = _try(connect, listener)

    assert isinstance(refused, BlockedConnection)
    assert reached is None and guard.refusal is None


def _try(action, *args) -> BaseException | None:
    try:
        action(*args)
    except BaseException as exc:
        return exc
    return None
