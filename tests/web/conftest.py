"""A real Streamlit server, a real Chromium and real media over HTTP, all on 127.0.0.1."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest

from bulk_transcribe.models import ItemSpec, SessionStatus, SourceType
from bulk_transcribe.runner.ownership import (
    HEARTBEAT_SECONDS,
    OWNER_EXPIRY_SECONDS,
    is_dead,
    new_owner,
)
from bulk_transcribe.store import Store
from bulk_transcribe.web.launch import app_path
from tests.fakes.transcripts import decode_mono
from tests.samples import REPO, SAMPLE_MEDIA, write_wav

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep Chromium off every network but 127.0.0.1 and quiet in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts"
LONG_MEDIA_SECONDS = 90  # long enough to watch several items transcribing at the same time
LONG_MEDIA_COUNT = 9
SERVER_START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def long_media(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real speech, ~90 s per file: the bundled clips concatenated, each file in its own order."""
    folder = tmp_path_factory.mktemp("long-media")
    clips = [decode_mono(path) for path in SAMPLE_MEDIA]
    files = []
    for number in range(LONG_MEDIA_COUNT):
        parts, length, index = [], 0, number
        while length < LONG_MEDIA_SECONDS * 16_000:
            clip = clips[index % len(clips)]
            parts.append(clip)
            length += len(clip)
            index += 1
        files.append(write_wav(folder / f"talk_{number + 1:02d}.wav", np.concatenate(parts)))
    for sample in SAMPLE_MEDIA:  # the short clips are served from the same folder
        shutil.copy(sample, folder / sample.name)
    return files


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def media_server(long_media: list[Path]) -> Iterator[str]:
    """The long media served over real HTTP; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(long_media[0].parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class AppServer:
    """`streamlit run app.py` as a user starts it, with its own output folder."""

    def __init__(self, out_dir: Path, log_path: Path):
        self.out_dir = out_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "BULK_TRANSCRIBE_OUT_DIR": str(out_dir)}
        env.pop("BULK_TRANSCRIBE_DB_PATH", None)
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(app_path()),
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def database(self) -> Path:
        return self.out_dir / "bulk_transcribe.db"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/_stcore/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"streamlit did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder = tmp_path_factory.mktemp("web-app")
    server = AppServer(folder / "output", folder / "streamlit.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            "the browser tests need Debian's Chromium at /usr/bin/chromium: "
            "run `apt-get install -y chromium`"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh tab; its last state is saved to test-artifacts/ whatever the outcome."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        if not tab.is_closed():
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"))
    finally:
        context.close()


@pytest.fixture(scope="session", autouse=True)
def _clean_artifacts() -> None:
    shutil.rmtree(ARTIFACTS / "downloads", ignore_errors=True)


@pytest.fixture
def out_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh output folder the app reads from the environment, as `bulk-transcribe ui` sets."""
    folder = tmp_path / "output"
    monkeypatch.setenv("BULK_TRANSCRIBE_OUT_DIR", str(folder))
    monkeypatch.delenv("BULK_TRANSCRIBE_DB_PATH", raising=False)
    return folder


@pytest.fixture
def store(out_dir: Path) -> Iterator[Store]:
    with Store(out_dir / "bulk_transcribe.db") as opened:
        yield opened


def make_session(
    store: Store, sources: list[str], *, concurrency: int = 1, status: SessionStatus | None = None
) -> str:
    """A stored session of HTTP media items, as the page would create it (no runner)."""
    session = store.create_session(
        store.path.parent, {"concurrency": concurrency, "formats": ["txt"], "engine": "local"}
    )
    store.add_items(session.id, [ItemSpec(s, SourceType.HTTP_MEDIA) for s in sources])
    if status is not None:
        store.set_session_status(session.id, status)
    return session.id


@contextmanager
def pretend_running(store: Store, session_id: str) -> Iterator[None]:
    """Make a stored session look worked on, as a job in another process keeps it (an owner,
    this test's process, with a live heartbeat), without running anything: for views of
    figures and controls that need a live session."""
    owner = new_owner()
    assert store.claim_session(session_id, owner, OWNER_EXPIRY_SECONDS, is_dead) is None
    store.set_session_status(session_id, SessionStatus.RUNNING)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            store.heartbeat(session_id, owner.id)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        store.release_session(session_id, owner.id)
        store.set_session_status(session_id, SessionStatus.STOPPED)
