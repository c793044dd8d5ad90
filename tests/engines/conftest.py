"""Fixtures for the cloud engines: fake providers on 127.0.0.1, jobs that record what they see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from bulk_transcribe.engines.base import EngineJob
from bulk_transcribe.models import TranscribeOptions
from tests.fakes.deapi_server import FakeDeapiServer
from tests.fakes.openai_server import FakeOpenAIServer

OPENAI_KEY = "sk-test-0penai-secret-value"
DEAPI_KEY = "deapi-secret-token-123456"


@dataclass
class RecordingJob:
    """An EngineJob whose request id lives in memory, like the store keeps it."""

    saved: str | None = None
    progress: list[float] = field(default_factory=list)
    saved_ids: list[str] = field(default_factory=list)
    language: str | None = None
    prompt: str | None = None

    def job(self) -> EngineJob:
        return EngineJob(
            options=TranscribeOptions(language=self.language, prompt=self.prompt),
            on_progress=self.progress.append,
            saved_request_id=lambda: self.saved,
            save_request_id=self._save,
        )

    def _save(self, request_id: str) -> None:
        self.saved = request_id
        self.saved_ids.append(request_id)


@dataclass
class RecordingHook:
    """A RequestHook that notes every request, as the rate limiter will see them."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def before_request(self, provider: str, request: httpx.Request) -> None:
        self.seen.append((provider, request.method, request.url.path))

    def after_response(
        self, provider: str, request: httpx.Request, response: httpx.Response
    ) -> None:
        self.statuses.append(response.status_code)


@pytest.fixture
def recording_job() -> RecordingJob:
    return RecordingJob()


@pytest.fixture
def hook() -> RecordingHook:
    return RecordingHook()


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        yield server


@pytest.fixture
def deapi_server() -> Iterator[FakeDeapiServer]:
    with FakeDeapiServer(api_key=DEAPI_KEY) as server:
        yield server
