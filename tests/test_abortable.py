"""Connections an item's cancel ends mid-request, against a real server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bulk_transcribe import workscope
from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.errors import Cancelled
from bulk_transcribe.net import guarded_client

PIECE = 64 * 1024
PIECES = 200  # 12.5 MB, sent a piece every 10 ms: seconds, not the test's whole run


class SlowDownloads:
    """Sends GET bodies slowly; notes how many bytes of each went out before the client left."""

    def __init__(self) -> None:
        self.sending = threading.Event()
        self.sent: list[tuple[int, int]] = []  # (bytes sent, bytes announced), as they end
        self.ended = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                total = PIECE * PIECES
                self.send_response(200)
                self.send_header("Content-Length", str(total))
                self.end_headers()
                sent = 0
                try:
                    for _ in range(PIECES):
                        self.wfile.write(b"x" * PIECE)
                        sent += PIECE
                        owner.sending.set()
                        time.sleep(0.01)
                except OSError:  # the client went away
                    self.close_connection = True
                with owner.ended:
                    owner.sent.append((sent, total))
                    owner.ended.notify_all()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/media"

    def ended_downloads(self, count: int) -> list[tuple[int, int]]:
        with self.ended:
            self.ended.wait_for(lambda: len(self.sent) >= count, 60)
            return list(self.sent)


@pytest.fixture
def downloads() -> Iterator[SlowDownloads]:
    server = SlowDownloads()
    yield server
    server.server.shutdown()
    server.server.server_close()


def download(client, url: str) -> int:
    received = 0
    with client.stream("GET", url) as response:
        for piece in response.iter_raw():
            received += len(piece)
    return received


def test_a_cancel_ends_a_download_on_the_wire_and_the_client_goes_on(downloads):
    cancel = threading.Event()
    ended = {}
    with guarded_client(AddressPolicy()) as client:

        def fetch() -> None:
            with workscope.scope(cancel):
                try:
                    ended["received"] = download(client, downloads.url)
                except Cancelled:
                    ended["cancelled"] = True

        worker = threading.Thread(target=fetch)
        worker.start()
        assert downloads.sending.wait(60)
        cancel.set()
        worker.join(60)
        [(sent, total)] = downloads.ended_downloads(1)
        # The same client, outside any item: a whole download on a fresh connection.
        whole = download(client, downloads.url)

    assert ended == {"cancelled": True}
    assert sent < total  # the server saw the client leave mid-body
    assert whole == total


def test_calls_outside_any_item_and_items_not_cancelled_are_untouched(downloads):
    with guarded_client(AddressPolicy()) as client:
        outside = download(client, downloads.url)
        with workscope.scope(threading.Event()):
            inside = download(client, downloads.url)
    assert outside == inside == PIECE * PIECES


class FullBacklog:
    """A listening socket on 127.0.0.1 that accepts nothing and whose queue is full: the
    kernel drops further SYNs, so a connect to it blocks until its timeout."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):  # a connect under way, as wanted
                filler.connect(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()


def test_a_cancel_ends_a_connect_that_would_wait_out_its_timeout(downloads) -> None:
    from bulk_transcribe import abortable

    backlog = FullBacklog()
    cancel = threading.Event()
    outcome: list[BaseException] = []

    with guarded_client(AddressPolicy(), timeout=60) as client:

        def connect() -> None:
            with workscope.scope(cancel):
                try:
                    client.get(f"http://127.0.0.1:{backlog.port}/media")
                except BaseException as exc:
                    outcome.append(exc)

        worker = threading.Thread(target=connect)
        worker.start()
        try:
            # The connect is blocked once the watcher holds it (a call is only watched
            # while it blocks); then the cancel comes.
            deadline = time.monotonic() + 30
            while not abortable._watcher._calls and time.monotonic() < deadline:
                time.sleep(0.01)
            assert abortable._watcher._calls, "the connect never blocked"
            cancel.set()
            worker.join(30)
        finally:
            backlog.close()
        # The same client goes on: a whole download from a server that answers.
        whole = download(client, downloads.url)

    # Ended by the cancel: the 60 s connect timeout would have been a ConnectTimeout.
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    assert whole == PIECE * PIECES
