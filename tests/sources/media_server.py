"""A real HTTP server on 127.0.0.1 whose routes misbehave the ways real media hosts do.

Written on http.server rather than pytest-httpserver because tests need to drop the
connection in the middle of a body, which a WSGI server does not let a handler do.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class Route:
    body: bytes
    content_type: str | None = "application/octet-stream"
    status: int = 200
    ranges: bool = True  # honour Range requests with 206
    drop_after: int | None = None  # close the connection after this many body bytes ...
    drops: int = 0  # ... on this many requests, then serve normally
    etag: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    trickle_seconds: float | None = None  # send the body one byte at a time, this far apart
    claimed_length: int | None = None  # a Content-Length that is not the body's (-1: none)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    client_port: int = 0  # the requesting connection's own port: one per TCP connection
    query: str = ""


class MediaServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def requests_to(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def requests_with(self, path: str, query: str) -> list[Seen]:
        """Requests of `path` with exactly this query string."""
        return [r for r in self.requests if r.path == path and r.query == query]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

            def handle(self) -> None:
                # Clients (and our own drops) close connections mid-request.
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    super().handle()

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                with server._lock:
                    seen = Seen(path, dict(self.headers.items()), self.client_address[1], query)
                    server.requests.append(seen)
                    # A route added with its query serves only that query.
                    route = server.routes.get(self.path) or server.routes.get(path)
                    drop = route is not None and route.drops > 0 and route.drop_after is not None
                    if drop:
                        route.drops -= 1
                if route is None:
                    self._send(404, b"<html><body>Not found</body></html>", "text/html")
                    return
                body, status, headers = route.body, route.status, dict(route.extra_headers)
                match = _RANGE.fullmatch(self.headers.get("Range", ""))
                if route.ranges:
                    headers["Accept-Ranges"] = "bytes"
                if match and route.ranges and status == 200:
                    start = int(match.group(1))
                    end = int(match.group(2)) if match.group(2) else len(body) - 1
                    if start >= len(body):
                        self._send(416, b"", None, {"Content-Range": f"bytes */{len(body)}"})
                        return
                    headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
                    body, status = body[start : end + 1], 206
                if route.etag:
                    headers["ETag"] = route.etag
                if route.trickle_seconds is not None or route.claimed_length is not None:
                    self._send_odd(route, status, body, headers)
                    return
                self._send(
                    status, body, route.content_type, headers, route.drop_after if drop else None
                )

            def _send_odd(
                self, route: Route, status: int, body: bytes, headers: dict[str, str]
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", route.content_type or "application/octet-stream")
                if route.claimed_length != -1:  # else the body ends when the connection does
                    self.send_header("Content-Length", str(route.claimed_length or len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.close_connection = True
                for index in range(len(body)):
                    self.wfile.write(body[index : index + 1])
                    self.wfile.flush()
                    if route.trickle_seconds:
                        time.sleep(route.trickle_seconds)

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str | None,
                headers: dict[str, str] | None = None,
                drop_after: int | None = None,
            ) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if drop_after is None:
                    self.wfile.write(body)
                    return
                self.wfile.write(body[:drop_after])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the peer sees the body end early

        return Handler


@contextmanager
def running_server() -> Iterator[MediaServer]:
    server = MediaServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def silent_listener() -> Iterator[tuple[str, list[socket.socket]]]:
    """A server on 127.0.0.1 that takes connections and never answers: its base URL, and the
    connections it took."""
    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                taken.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", taken
    finally:
        listener.close()
        for connection in taken:
            connection.close()
