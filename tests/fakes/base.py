"""A threaded HTTP server on 127.0.0.1 with the knobs provider tests and benchmarks need.

Knobs: `latency` (seconds added to every answer), `rpm` (requests per minute, enforced with
429 + Retry-After like real providers), `api_key` (checked as a Bearer token), injected faults
(`inject("500", "drop", ...)` for the next requests, or `fault_rate` for random ones) and a
record of every request. Subclasses implement `route(request) -> Reply`.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import random
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("500", "502", "503", "429", "drop", "malformed", "slow")


@dataclass
class Upload:
    filename: str
    content: bytes


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)
    query: str = ""  # the URL's query string, for GET APIs
    # When its request line arrived: a gateway counts a request against the limit then,
    # before the body is read.
    arrived: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return self.body, "application/json"


@dataclass
class Recorded:
    method: str
    path: str
    status: int
    fields: dict[str, str]
    filenames: dict[str, str]
    sizes: dict[str, int]
    had_authorization: bool
    at: float  # time.monotonic() when the request arrived


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """Form fields and files of a multipart/form-data body (stdlib email parser)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = Upload(filename, payload)
        elif name.endswith("[]") and name in fields:  # arrays: timestamp_granularities[]
            fields[name] += "," + payload.decode("utf-8", "replace")
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields, files


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections when ten clients arrive at once,
    # and each dropped SYN costs the client a one-second retransmit.
    request_queue_size = 128


class FakeProviderServer:
    """Start with `with Server(...) as server:` or `start()`/`stop()`; `server.url` is the base."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        rpm: int | None = None,
        window_seconds: float = 60.0,  # benchmarks scale time: rpm per this many seconds
        api_key: str | None = None,
        fault_rate: float = 0.0,
        seed: int = 0,
        port: int = 0,
    ):
        self.latency = latency
        self.rpm = rpm
        self.window_seconds = window_seconds
        self.api_key = api_key
        self.fault_rate = fault_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._faults: deque[str | Reply] = deque()
        self._window: deque[float] = deque()  # arrival times of requests let through
        self.requests: list[Recorded] = []
        self.status_counts: Counter[int] = Counter()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeProviderServer:
        handler = _handler_for(self)
        self._server = _Server(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]  # known after stop() too, for reports
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._port, "start the server first"
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- knobs ----------------------------------------------------------------------------

    def inject(self, *faults: str) -> None:
        """Answer the next requests with these faults, one each: an HTTP status ("503", "402"),
        "429" (with Retry-After: 1), "drop" (close without answering), "malformed" (200 with
        a broken JSON body) or "slow" (wait 2 s, then answer normally)."""
        unknown = [f for f in faults if f not in FAULTS and not (f.isdigit() and len(f) == 3)]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; choose from {FAULTS}")
        with self._lock:
            self._faults.extend(faults)

    def answer_next(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, one each, before any other fault."""
        with self._lock:
            self._faults.extend(replies)

    def route(self, request: Request) -> Reply:  # pragma: no cover - subclasses answer
        raise NotImplementedError

    def requests_to(self, path_prefix: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    # --- the pipeline every request goes through -------------------------------------------

    def _answer(self, request: Request) -> Reply:
        arrived = request.arrived
        reply = self._gate(request, arrived) or self._fault() or self.route(request)
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            self.status_counts[0 if reply.drop else reply.status] += 1
            self.requests.append(
                Recorded(
                    method=request.method,
                    path=request.path,
                    status=0 if reply.drop else reply.status,
                    fields=dict(request.fields),
                    filenames={k: v.filename for k, v in request.files.items()},
                    sizes={k: len(v.content) for k, v in request.files.items()},
                    had_authorization="authorization" in request.headers,
                    at=arrived,
                )
            )
        return reply

    def _gate(self, request: Request, arrived: float) -> Reply | None:
        wrong_key = self.api_key is not None and request.bearer != self.api_key
        if wrong_key and self.requires_key(request):
            # Like real providers, echo what was sent: clients must scrub it.
            return Reply(
                401,
                {"error": {"message": f"Incorrect API key provided: {request.bearer}",
                           "type": "invalid_request_error", "code": "invalid_api_key"}},
            )  # fmt: skip
        if self.rpm is None:
            return None
        with self._lock:
            while self._window and arrived - self._window[0] >= self.window_seconds:
                self._window.popleft()
            if len(self._window) >= self.rpm:
                wait = math.ceil(self.window_seconds - (arrived - self._window[0]))
                return Reply(
                    429,
                    {"error": {"message": "Rate limit reached", "type": "requests"}},
                    {"Retry-After": str(max(1, wait))},
                )
            self._window.append(arrived)
        return None

    def requires_key(self, request: Request) -> bool:
        return True

    def _fault(self) -> Reply | None:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            if fault is None and self.fault_rate and self._random.random() < self.fault_rate:
                fault = self._random.choice(("500", "503", "drop"))
        if fault is None:
            return None
        if isinstance(fault, Reply):
            return fault
        if fault == "drop":
            return Reply(drop=True)
        if fault == "malformed":
            return Reply(200, b'{"text": "cut off in the mid')
        if fault == "slow":
            time.sleep(2.0)
            return None
        if fault == "429":
            return Reply(429, {"error": {"message": "Slow down"}}, {"Retry-After": "1"})
        return Reply(int(fault), {"error": {"message": f"injected {fault}"}})


def _handler_for(server: FakeProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # As real API servers do (TCP_NODELAY): otherwise the body, written after the headers,
        # waits for the client's delayed ACK (Nagle), ~40 ms on every answer.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _handle(self) -> None:
            arrived = time.monotonic()
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            url = urlsplit(self.path)
            request = Request(
                self.command, url.path, headers, body, query=url.query, arrived=arrived
            )
            content_type = headers.get("content-type", "")
            if content_type.startswith("multipart/form-data"):
                request.fields, request.files = parse_multipart(content_type, body)
            reply = server._answer(request)
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            payload, default_type = reply.encoded()
            self.send_response(reply.status)
            headers_out = {"Content-Type": default_type, **reply.headers}
            for name, value in headers_out.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _handle

    return Handler
