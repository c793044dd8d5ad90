"""An HTTP server on 127.0.0.1 that takes the first uploads slowly, noting how much arrived.

For cancel tests: `receiving` is set once a slow upload is well under way, and every upload's
`Received` says how many body bytes came before the client finished or went away. The slow
ones are read a small piece at a time, into a small receive buffer, so a client that keeps
sending is still sending long after the test looks; later uploads are read at full speed.
`answer(path)` gives the (status, JSON) for each whole upload. With `hold_answers`, a whole
upload's answer waits until that event is set (a provider still transcribing); `answering`
is set while one waits.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PIECE = 16 * 1024
PAUSE = 0.01  # between pieces of a slow upload: about 1.6 MB/s
UNDER_WAY = 256 * 1024  # body bytes read before `receiving` is set


@dataclass
class Received:
    path: str
    length: int  # the Content-Length the client announced
    received: int

    @property
    def whole(self) -> bool:
        return self.received >= self.length


def answer_verbose_json(_path: str) -> tuple[int, dict]:
    """An OpenAI-compatible transcription answer (verbose_json) for any whole upload."""
    return 200, {
        "text": "the river is high",
        "language": "english",
        "segments": [{"start": 0.0, "end": 2.0, "text": "the river is high"}],
    }


class SlowUploadServer:
    def __init__(
        self,
        answer: Callable[[str], tuple[int, dict]],
        slow_uploads: int = 1,
        hold_answers: threading.Event | None = None,
    ):
        self.answer = answer
        self.slow_uploads = slow_uploads
        self.hold_answers = hold_answers
        self.receiving = threading.Event()
        self.answering = threading.Event()
        self.uploads: list[Received] = []  # in the order they ended
        self._ended = threading.Condition()
        self._started = 0
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> SlowUploadServer:
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold_answers is not None:
            self.hold_answers.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """Where an OpenAI-compatible client points (the API's /v1)."""
        return f"{self.url}/v1"

    def wait_for_uploads(self, count: int, timeout: float = 60.0) -> list[Received]:
        """The first `count` uploads once they have ended (a bound, not a measurement)."""
        with self._ended:
            self._ended.wait_for(lambda: len(self.uploads) >= count, timeout)
            return list(self.uploads)

    def _take(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        with self._ended:
            self._started += 1
            slow = self._started <= self.slow_uploads
        received = 0
        try:
            while received < length:
                piece = handler.rfile.read1(min(PIECE, length - received))
                if not piece:
                    break
                received += len(piece)
                if slow:
                    if received >= UNDER_WAY:
                        self.receiving.set()
                    time.sleep(PAUSE)
        except OSError:  # reset by the client
            pass
        with self._ended:
            self.uploads.append(Received(handler.path, length, received))
            self._ended.notify_all()
        if received < length:
            handler.close_connection = True
            return
        if self.hold_answers is not None:
            self.answering.set()
            self.hold_answers.wait(120)
        status, body = self.answer(handler.path)
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        try:
            handler.wfile.write(data)
        except OSError:  # the client went away while the answer was held
            handler.close_connection = True


class _Server(ThreadingHTTPServer):
    def server_bind(self) -> None:
        # A small receive buffer (inherited by each connection): the client's bytes wait on
        # its side, not in ours, so how much arrived is what the server took.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        super().server_bind()


def _handler_for(server: SlowUploadServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            server._take(self)

        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    return Handler
