"""An engine that cannot decode a download: the cached file goes, the message names the link."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_transcribe.engines.base import EngineBase, EngineJob
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import ItemSpec, MediaFile, SourceType, Transcript
from bulk_transcribe.runner import create_session
from bulk_transcribe.runner.work import UnitReporter, WorkUnit, run_unit
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.samples import SAMPLE_MEDIA
from tests.sources.media_server import MediaServer, Route, running_server


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    with running_server() as server:
        yield server


class CannotDecode(EngineBase):
    """Fails like the local engine on audio it cannot read (its message names the file)."""

    name = "cannot-decode"
    model = "none"

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        raise PermanentError(ErrorKind.DECODE, f"could not decode audio in {media.path.name}")


def run_one(tmp_path: Path, spec: ItemSpec) -> tuple[str, str]:
    settings = Settings(out_dir=tmp_path / "out", http_timeout=5)
    with Store(settings.database) as store:
        session = create_session(store, settings, [spec])
        [item] = store.items(session.id)
    unit = WorkUnit(item=item, attempt=1)
    engine = CannotDecode()
    outcome = run_unit(
        unit, settings, lambda: engine, UnitReporter(unit, lambda _m: None, threading.Event())
    )
    assert outcome.error is not None
    return outcome.error.kind, outcome.error.message


def test_a_download_the_engine_cannot_decode_leaves_the_cache_and_names_the_link(
    tmp_path: Path, media_server: MediaServer
) -> None:
    audio = SAMPLE_MEDIA[0]
    url = media_server.add("/ep" + audio.suffix, Route(audio.read_bytes(), "audio/wav"))
    kind, message = run_one(tmp_path, ItemSpec(url, SourceType.HTTP_MEDIA))
    assert kind == "decode"
    assert message == f"could not decode audio in {url}"
    cache = tmp_path / "out" / "cache"
    assert [p for p in cache.rglob("*") if p.is_file()] == []


def test_a_local_file_the_engine_cannot_decode_is_never_deleted(tmp_path: Path) -> None:
    local = tmp_path / "talk.wav"
    local.write_bytes(SAMPLE_MEDIA[0].read_bytes())
    kind, message = run_one(tmp_path, ItemSpec(str(local), SourceType.LOCAL_FILE))
    assert (kind, message) == ("decode", "could not decode audio in talk.wav")
    assert local.exists()
