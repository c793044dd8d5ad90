"""yt-dlp's own requests (a page read for its media, a video's metadata) end when the item is
cancelled, against a real server on 127.0.0.1 that holds its answer back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bulk_transcribe import workscope
from bulk_transcribe.errors import Cancelled
from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.runner import Runner, create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import ytdlp
from bulk_transcribe.store import Store
from tests.runner.doubles import ScriptedEngine
from tests.samples import EXAMPLES

HOLD_SECONDS = 600.0  # the server's longest hold: the test releases it sooner
WAIT_SECONDS = 30.0  # how long a test waits for what should end at once (a broken build)
# yt-dlp's socket timeout beyond any wait here: only a cut can end the request in time.
SLOW = {"http_timeout": 300.0}
M4A = (EXAMPLES / "media" / "03_coffee_recipe.m4a").read_bytes()
PAGE = b"""<!DOCTYPE html><html><head><title>Episode 7</title></head><body>
<audio controls><source src="/files/ep7.m4a" type="audio/mp4"></audio></body></html>"""


class HoldingServer:
    """Answers a page only once released (or after HOLD_SECONDS); `arrived` is set when a
    request for it came, `answered` once an answer went out."""

    def __init__(self) -> None:
        self.arrived, self.release, self.answered = (threading.Event() for _ in range(3))
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.endswith(".m4a"):
                    body, kind = M4A, "audio/mp4"
                else:
                    owner.arrived.set()
                    owner.release.wait(HOLD_SECONDS)
                    body, kind = PAGE, "text/html"
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client left
                    return
                if kind == "text/html":
                    owner.answered.set()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/episodes/7"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[HoldingServer]:
    holding = HoldingServer()
    try:
        yield holding
    finally:
        holding.stop()


def test_a_cancel_ends_yt_dlps_request_while_the_server_still_holds_it(
    server: HoldingServer, tmp_path: Path
) -> None:
    cancel = threading.Event()
    ended: dict[str, object] = {}

    def extract() -> None:
        with workscope.scope(cancel):
            try:
                ytdlp.extract_info(server.url, Settings(out_dir=tmp_path, **SLOW))
            except BaseException as exc:
                ended["error"] = exc
        ended["server_had_answered"] = server.answered.is_set()

    worker = threading.Thread(target=extract)
    worker.start()
    assert server.arrived.wait(30)
    cancel.set()
    worker.join(WAIT_SECONDS)  # a bound for a broken build, not a measurement

    assert not worker.is_alive()
    assert ended["server_had_answered"] is False  # cut, not waited out
    assert isinstance(ended["error"], Cancelled)


def test_the_same_request_not_cancelled_waits_for_its_answer(
    server: HoldingServer, tmp_path: Path
) -> None:
    cancel = threading.Event()  # never set: the watch on yt-dlp's sockets changes nothing
    server.release.set()
    with workscope.scope(cancel):
        info = ytdlp.extract_info(server.url, Settings(out_dir=tmp_path))
    assert "Episode 7" in info["title"]


def test_a_cancelled_page_goes_back_to_the_queue_and_a_resume_transcribes_it(
    server: HoldingServer, tmp_path: Path
) -> None:
    """Through the runner, as Ctrl-C or the web's Cancel: the worker's request is cut (its
    thread ends while the server still holds the page), the item waits in the queue as
    cancelled, and the next run of the session does it."""
    settings = Settings(out_dir=tmp_path / "out", formats="md", **SLOW)
    store = Store(settings.database)
    session = create_session(store, settings, [ItemSpec(server.url, SourceType.WEB_PAGE)])
    [item] = store.items(session.id)
    runner = Runner(store, session.id, settings, engine=ScriptedEngine())
    run = threading.Thread(target=runner.run)
    run.start()
    assert server.arrived.wait(30)

    runner.request_cancel()
    run.join(WAIT_SECONDS)
    worker = next((t for t in threading.enumerate() if t.name == f"item-{item.id}"), None)
    if worker is not None:
        worker.join(WAIT_SECONDS)

    assert not run.is_alive() and (worker is None or not worker.is_alive())
    assert not server.answered.is_set()  # both ended while the server held the page
    cancelled = store.get_item(item.id)
    assert (cancelled.status, cancelled.error_kind) == (ItemStatus.QUEUED, "cancelled")

    server.release.set()
    counts = Runner(store, session.id, settings, engine=ScriptedEngine()).run()
    assert counts.done == 1 and store.get_item(item.id).status is ItemStatus.DONE
