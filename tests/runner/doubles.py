"""Test doubles and helpers for runner tests: a scripted Engine and ready-made sessions."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bulk_transcribe.engines import EngineJob
from bulk_transcribe.engines.base import EngineBase
from bulk_transcribe.errors import ErrorKind, PermanentError, TransientError
from bulk_transcribe.models import ItemSpec, MediaFile, Segment, SourceType, Transcript
from bulk_transcribe.net import RequestHook, provider_client
from bulk_transcribe.runner import Runner, create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.samples import SAMPLE_MEDIA


class ScriptedEngine(EngineBase):
    """An Engine whose behaviour is chosen by the media file's name (a test double)."""

    name = "scripted"
    model = "script"

    def __init__(self, provider: Provider | None = None) -> None:
        self.provider = provider  # type: ignore[assignment]  # the runner limits its requests
        self.hook: RequestHook | None = None  # set to the runner's rate limiter
        self.calls: list[str] = []
        self.active = 0
        self.active_at_start: dict[str, int] = {}
        self.release = threading.Event()
        self.unhang = threading.Event()
        self.started = threading.Event()
        self.barrier: threading.Barrier | None = None
        self._lock = threading.Lock()

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        stem = media.path.stem
        with self._lock:
            self.calls.append(stem)
            tries = self.calls.count(stem)
            self.active += 1
            self.active_at_start[stem] = self.active
        self.started.set()
        try:
            return self._behave(stem, tries, job)
        finally:
            with self._lock:
                self.active -= 1

    def _behave(self, stem: str, tries: int, job: EngineJob) -> Transcript:
        if stem.startswith("hang"):
            self.unhang.wait(60)  # ignores cancellation, like a stuck C library call
        if stem.startswith("http") and self.provider is not None:
            # Plain HTTP: no TLS context to build (loading CA certificates takes a second on
            # a loaded machine, which tests with a 1 s time limit would count).
            plain = httpx.HTTPTransport(verify=False)
            with provider_client(self.provider.provider_id, self.hook, transport=plain) as client:
                response = client.get(self.provider.url)
            if response.status_code == 429:
                raise TransientError(ErrorKind.RATE_LIMITED, "429 from the provider")
        if stem.startswith("together") and self.barrier is not None:
            self.barrier.wait(timeout=30)  # passes only if the items really run at once
        if stem.startswith("blocking"):
            while not self.release.wait(0.01):
                job.on_progress(0.5)  # raises Cancelled when the user cancels
        if stem.startswith("transient") and tries == 1:
            raise TransientError(ErrorKind.NETWORK, "connection reset by peer")
        if stem.startswith("permanent"):
            raise PermanentError(ErrorKind.UNSUPPORTED, "this provider cannot read that")
        if stem.startswith("boom"):
            raise RuntimeError("a bug")
        job.on_progress(1.0)
        return Transcript(
            segments=[Segment(0.0, 1.0, f"Words of {stem}.")],
            language="en",
            duration=1.0,
            engine=self.name,
            model=self.model,
            method="scripted",
        )


@dataclass(frozen=True)
class Provider:
    name: str
    url: str
    rpm: int | None = None
    # Budgets are process-wide per provider id: each test's provider has its own.
    key: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def provider_id(self) -> str:
        return f"{self.name}@{self.key}"


def make_session(tmp_path: Path, names: list[str], concurrency: int = 1, **overrides):
    media_dir = tmp_path / "media"
    media_dir.mkdir(exist_ok=True)
    paths = []
    for name in names:
        path = media_dir / f"{name}.wav"
        shutil.copy(SAMPLE_MEDIA[0], path)
        paths.append(path)
    settings = Settings(
        out_dir=tmp_path / "out", concurrency=concurrency, formats="md,json", **overrides
    )
    store = Store(settings.database)
    specs = [ItemSpec(source=str(p), source_type=SourceType.LOCAL_FILE) for p in paths]
    session = create_session(store, settings, specs)
    return store, session, settings


def statuses(store: Store, session_id: str) -> dict[str, str]:
    return {Path(i.source).stem: i.status.value for i in store.items(session_id)}


def run_in_thread(runner: Runner) -> threading.Thread:
    thread = threading.Thread(target=runner.run)
    thread.start()
    return thread


def wait_for(condition, timeout: float = 30.0) -> None:
    """Poll until `condition()` holds; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
