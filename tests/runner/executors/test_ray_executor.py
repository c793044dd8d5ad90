"""The Ray executor on a local Ray instance: real batches give the thread run's outputs, one
item can be cancelled, and closing never waits for a stuck worker."""

from __future__ import annotations

import pytest

from bulk_transcribe.models import ItemSpec, SourceType, Stage
from bulk_transcribe.runner import create_session, session_links
from bulk_transcribe.runner.executors.ray_executor import RayExecutor
from bulk_transcribe.runner.work import Outcome, Progress, WorkUnit
from bulk_transcribe.service import run_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.engines.conftest import OPENAI_KEY
from tests.engines.test_diarization import SPEAKERS_DATA
from tests.fakes.openai_server import FakeOpenAIServer
from tests.runner.executors.batches import sample_session, transcript_files
from tests.samples import SAMPLE_MEDIA
from tests.sources.media_server import Route, running_server

POLL_SECONDS = 0.2


pytestmark = pytest.mark.usefixtures("ray_instance")


def run_both(tmp_path, media, **overrides):
    """The same batch run with threads and on Ray; the two session folders."""
    store, session, settings = sample_session(tmp_path / "threads", media, **overrides)
    counts = run_session(store, session.id, settings)
    assert counts.done == len(media), store.items(session.id)
    store_ray, session_ray, settings_ray = sample_session(tmp_path / "ray", media, **overrides)
    with RayExecutor(settings_ray) as executor:
        counts = run_session(store_ray, session_ray.id, settings_ray, executor=executor)
    assert counts.done == len(media), store_ray.items(session_ray.id)
    return session.folder, session_ray.folder


@pytest.mark.slow
def test_local_engine_on_ray_writes_what_threads_write(tmp_path):
    threads, on_ray = run_both(tmp_path, SAMPLE_MEDIA[:3])
    assert transcript_files(on_ray) == transcript_files(threads)
    assert len(transcript_files(on_ray)) == 3 * 4


def test_cloud_engine_on_ray_writes_what_threads_write(tmp_path):
    media = SAMPLE_MEDIA[:4]
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        threads, on_ray = run_both(
            tmp_path,
            media,
            engine="openai",
            api_base=server.base_url,
            openai_api_key=OPENAI_KEY,
            concurrency=3,
        )
        requests = server.transcription_requests()
    assert len(requests) == 2 * len(media)
    assert transcript_files(on_ray) == transcript_files(threads)


def test_a_link_with_credentials_works_on_a_ray_worker_and_is_stored_without_them(tmp_path):
    # The session stores the link scrubbed; the worker, another process, gets the real one.
    with running_server() as media, FakeOpenAIServer(api_key=OPENAI_KEY) as provider:
        media.add("/private.mp3", Route(SAMPLE_MEDIA[1].read_bytes(), "audio/mpeg"))
        link = media.url("/private.mp3").replace("http://", "http://alice:hunter2@")
        link += "?token=SECRET2"
        settings = Settings(
            out_dir=tmp_path,
            formats="txt",
            engine="openai",
            api_base=provider.base_url,
            openai_api_key=OPENAI_KEY,
        )
        store = Store(settings.database)
        specs = [ItemSpec(link, SourceType.HTTP_MEDIA)]
        session = create_session(store, settings, specs)
        links = session_links(store, specs)
        with RayExecutor(settings) as executor:
            counts = run_session(store, session.id, settings, executor=executor, links=links)
        seen = media.requests_to("/private.mp3")

    assert counts.done == 1, store.items(session.id)
    assert seen and seen[0].headers["Authorization"].startswith("Basic ")
    (item,) = store.items(session.id)
    assert "hunter2" not in item.source and "SECRET2" not in item.source


def started_units(store, session) -> list[WorkUnit]:
    units = []
    for item in store.items(session.id):
        attempt = store.start_item(item.id)
        units.append(WorkUnit(item=store.get_item(item.id), attempt=attempt))
    return units


def outcomes_until(executor: RayExecutor, item_ids: set[int]) -> dict[int, Outcome]:
    found: dict[int, Outcome] = {}
    while not item_ids <= found.keys():
        for message in executor.poll(POLL_SECONDS):
            if isinstance(message, Outcome):
                found[message.item_id] = message
    return found


def test_cancel_stops_one_item_and_close_leaves_a_stuck_one(tmp_path):
    # The provider never answers in time: both items hang in their HTTP call, deaf to the
    # cancel flag, so the cancelled one must be stopped by force.
    with FakeOpenAIServer(api_key=OPENAI_KEY, latency=120) as server:
        store, session, settings = sample_session(
            tmp_path,
            SAMPLE_MEDIA[:2],
            engine="openai",
            api_base=server.base_url,
            openai_api_key=OPENAI_KEY,
            http_timeout=120,
        )
        executor = RayExecutor(settings)
        cancelled, stuck = started_units(store, session)
        executor.submit(cancelled)
        executor.submit(stuck)
        transcribing: set[int] = set()
        while len(transcribing) < 2:
            for message in executor.poll(POLL_SECONDS):
                if isinstance(message, Progress) and message.stage is Stage.TRANSCRIBING:
                    transcribing.add(message.item_id)
        executor.cancel(cancelled.item.id)
        outcome = outcomes_until(executor, {cancelled.item.id})[cancelled.item.id]
        assert outcome.cancelled and outcome.attempt == cancelled.attempt
        assert all(
            not (isinstance(m, Outcome) and m.item_id == stuck.item.id) for m in executor.poll(0)
        )
        executor.close()  # returns although `stuck` still waits on the provider


@pytest.mark.slow
def test_the_chosen_voice_encoder_labels_the_speakers_on_a_ray_worker(tmp_path):
    """The speaker settings travel to the worker's engine as they are: Resemblyzer chosen
    where CAM++ would be the default, and the stored transcript says so."""
    conversation = SPEAKERS_DATA / "libri_mf.flac"
    store, session, settings = sample_session(
        tmp_path, [conversation], speakers=2, speaker_encoder="resemblyzer"
    )
    with RayExecutor(settings) as executor:
        counts = run_session(store, session.id, settings, executor=executor)

    assert counts.done == 1, store.items(session.id)
    (item,) = store.items(session.id)
    transcript = store.transcript(item.id).transcript
    assert transcript.decoding["speaker_encoder"] == "resemblyzer"
    assert {segment.speaker for segment in transcript.segments} == {1, 2}
