"""The DEAPI engine against a real HTTP server on 127.0.0.1 speaking DEAPI's documented protocol."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from bulk_transcribe import workscope
from bulk_transcribe.engines import create_engine
from bulk_transcribe.engines.deapi import CHUNK_IDS_PREFIX, DeapiEngine, PollPolicy
from bulk_transcribe.engines.poll_timing import JobTimeEstimator, PollTiming
from bulk_transcribe.engines.presets import resolve_provider
from bulk_transcribe.engines.retries import RetryPolicy
from bulk_transcribe.errors import Cancelled, ErrorKind, PermanentError, TransientError
from bulk_transcribe.models import MediaFile
from bulk_transcribe.settings import Settings
from tests.engines.conftest import DEAPI_KEY, RecordingJob
from tests.fakes.base import Reply
from tests.fakes.deapi_server import API, FakeDeapiServer
from tests.fakes.slow_upload_server import SlowUploadServer
from tests.fakes.transcripts import FakeTranscription, audio_duration, decode_mono
from tests.samples import SAMPLE_MEDIA, reference_text, word_error_rate, write_wav

FAST_RETRIES = RetryPolicy(attempts=4, base_seconds=0.01, max_seconds=0.05)
FAST_TIMING = PollTiming(
    prior_seconds_per_audio_second=0.001,
    unknown_duration_seconds=0.01,
    min_interval=0.01,
    max_first_wait=0.05,
    max_interval=0.05,
)
FAST_POLLS = PollPolicy(timing=FAST_TIMING, sleep_step=0.01)
WAV = SAMPLE_MEDIA[0]
M4A = next(p for p in SAMPLE_MEDIA if p.suffix == ".m4a")


def make_engine(server: FakeDeapiServer, hook=None, **overrides) -> DeapiEngine:
    settings = Settings(
        engine="deapi",
        deapi_base_url=server.url,
        deapi_api_key=overrides.pop("key", DEAPI_KEY),
        upload_limit_mb=overrides.pop("upload_limit_mb", None),
    )
    return DeapiEngine(
        resolve_provider(settings),
        hook,
        retry=overrides.pop("retry", FAST_RETRIES),
        poll=overrides.pop("poll", FAST_POLLS),
    )


def media(path: Path) -> MediaFile:
    return MediaFile(path=path, duration=audio_duration(path.read_bytes()))


def status_polls(server: FakeDeapiServer) -> list:
    return server.requests_to(f"{API}/request-status/")


def test_submits_the_audio_stores_the_id_at_once_and_polls_until_done(
    deapi_server, recording_job, hook
):
    deapi_server.polls_until_done = 4
    polls_when_saved = []
    job = recording_job.job()
    job = type(job)(
        options=job.options,
        on_progress=job.on_progress,
        saved_request_id=job.saved_request_id,
        save_request_id=lambda rid: (
            polls_when_saved.append(len(status_polls(deapi_server))),
            recording_job._save(rid),
        ),
    )
    transcript = make_engine(deapi_server, hook).transcribe(media(WAV), job)

    assert word_error_rate(reference_text(WAV), transcript.text) == 0
    assert not transcript.timing_estimated  # include_ts: timed lines
    assert transcript.segments[-1].end == pytest.approx(transcript.duration, abs=0.05)
    (submission,) = deapi_server.submissions()
    assert recording_job.saved_ids == [submission.request_id]
    assert polls_when_saved == [0]  # saved before the first status poll
    assert len(status_polls(deapi_server)) == 4
    (upload,) = deapi_server.requests_to(f"{API}/audiofile2txt")
    assert upload.fields == {
        "include_ts": "true",
        "model": "WhisperLargeV3",
        "return_result_in_response": "true",
    }
    assert upload.filenames == {"audio": WAV.name} and upload.had_authorization
    moved = [fraction for fraction in recording_job.progress if fraction > 0]
    assert 0 < moved[0] < 1 and recording_job.progress == sorted(recording_job.progress)
    # the rate limiter's hook sees the submission and every poll
    assert [path for _, _, path in hook.seen].count(f"{API}/audiofile2txt") == 1
    assert len(hook.seen) == 5


def test_a_resumed_job_polls_its_saved_request_and_never_submits_again(deapi_server, recording_job):
    engine = make_engine(deapi_server)
    engine.transcribe(media(WAV), recording_job.job())
    first_id = recording_job.saved
    polls_before = len(status_polls(deapi_server))

    again = make_engine(deapi_server).transcribe(media(WAV), recording_job.job())

    assert len(deapi_server.submissions()) == 1
    assert recording_job.saved == first_id
    assert len(status_polls(deapi_server)) == polls_before + 1
    assert word_error_rate(reference_text(WAV), again.text) == 0


def test_a_saved_request_that_failed_on_the_provider_is_submitted_once_more(
    deapi_server, recording_job
):
    deapi_server.fail_next_jobs = 1
    engine = make_engine(deapi_server)
    with pytest.raises(TransientError) as caught:
        engine.transcribe(media(WAV), recording_job.job())
    failed_id = recording_job.saved
    assert caught.value.kind is ErrorKind.PROVIDER and failed_id in caught.value.message

    transcript = engine.transcribe(media(WAV), recording_job.job())  # the runner's retry
    assert len(deapi_server.submissions()) == 2
    assert recording_job.saved != failed_id
    assert word_error_rate(reference_text(WAV), transcript.text) == 0


def test_formats_deapi_does_not_take_are_sent_as_compact_ogg(deapi_server, recording_job):
    make_engine(deapi_server).transcribe(media(M4A), recording_job.job())
    (upload,) = deapi_server.requests_to(f"{API}/audiofile2txt")
    assert upload.filenames == {"audio": f"{M4A.stem}.ogg"}


@pytest.mark.parametrize(("style", "estimated"), [("json", False), ("url", False), ("plain", True)])
def test_every_result_shape_becomes_a_transcript(recording_job, style, estimated):
    with FakeDeapiServer(api_key=DEAPI_KEY, result_style=style) as server:
        transcript = make_engine(server).transcribe(media(WAV), recording_job.job())
        downloads = server.requests_to("/results/")
    assert word_error_rate(reference_text(WAV), transcript.text) == 0
    assert transcript.timing_estimated is estimated
    if style == "url":
        (download,) = downloads
        assert not download.had_authorization  # the key never goes to a storage link


@pytest.mark.parametrize("fault", ["503", "429", "drop", "malformed"])
def test_transient_faults_on_submit_and_poll_are_retried(deapi_server, recording_job, fault):
    # A dropped submission, or one answered 200 with a garbled body, may have made a job: it
    # is not retried (see the tests below); those faults hit the first poll only.
    if fault not in ("drop", "malformed"):
        deapi_server.inject(fault)  # hits the submission
    engine = make_engine(deapi_server)
    job = recording_job.job()
    polls = iter(range(100))

    def inject_on_first_poll(fraction: float) -> None:
        if next(polls) == 0:
            deapi_server.inject(fault)

    job = type(job)(
        options=job.options,
        on_progress=inject_on_first_poll,
        saved_request_id=job.saved_request_id,
        save_request_id=job.save_request_id,
    )
    transcript = engine.transcribe(media(WAV), job)
    assert word_error_rate(reference_text(WAV), transcript.text) == 0
    submits = 1 if fault in ("drop", "malformed") else 2  # the fault, the retry
    assert len(deapi_server.requests_to(f"{API}/audiofile2txt")) == submits
    assert len(deapi_server.submissions()) == 1  # faults answered before any job was made


@pytest.mark.parametrize(
    ("status", "kind"),
    [("401", ErrorKind.AUTH), ("402", ErrorKind.QUOTA), ("422", ErrorKind.UNSUPPORTED)],
)
def test_permanent_submit_errors_are_not_retried(deapi_server, recording_job, status, kind):
    deapi_server.inject(status)
    with pytest.raises(PermanentError) as caught:
        make_engine(deapi_server).transcribe(media(WAV), recording_job.job())
    assert caught.value.kind is kind
    assert len(deapi_server.requests) == 1
    assert recording_job.saved is None


def test_a_result_that_arrives_only_after_many_polls_is_waited_for(recording_job):
    with FakeDeapiServer(polls_until_done=25) as server:
        transcript = make_engine(server).transcribe(media(WAV), recording_job.job())
        polls = status_polls(server)
    assert len(polls) == 25
    assert word_error_rate(reference_text(WAV), transcript.text) == 0
    assert recording_job.progress[-1] == pytest.approx(0.96)  # the last "processing" report


def test_a_stuck_request_ends_with_a_clear_error_naming_its_id(deapi_server, recording_job):
    deapi_server.hold()
    stuck_policy = PollPolicy(
        timing=FAST_TIMING, base_seconds=0.2, seconds_per_audio_second=0.0, sleep_step=0.01
    )
    with pytest.raises(PermanentError) as caught:
        make_engine(deapi_server, poll=stuck_policy).transcribe(media(WAV), recording_job.job())
    assert caught.value.kind is ErrorKind.TIMEOUT
    assert recording_job.saved in caught.value.message
    assert "retry-failed" in caught.value.message


def test_the_polling_ceiling_grows_with_the_audio():
    policy = PollPolicy()
    assert policy.deadline(3600) > policy.deadline(60) > 5 * 60
    assert policy.deadline(None) >= 3600


def test_cancel_while_waiting_stops_polling(deapi_server, recording_job):
    deapi_server.hold()
    job = recording_job.job()
    calls = []

    def cancel_soon(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) > 3:
            raise Cancelled()

    job = type(job)(
        options=job.options,
        on_progress=cancel_soon,
        saved_request_id=job.saved_request_id,
        save_request_id=job.save_request_id,
    )
    with pytest.raises(Cancelled):
        make_engine(deapi_server).transcribe(media(WAV), job)
    assert len(deapi_server.submissions()) == 1 and recording_job.saved


def test_a_cancel_ends_a_submission_on_the_wire_and_never_sends_it_again(tmp_path, recording_job):
    # Four minutes of 16 kHz WAV (7.7 MB), sent as it is: far more than the sockets buffer.
    audio = write_wav(tmp_path / "talk.wav", np.zeros(16_000 * 240, np.float32))
    cancel = threading.Event()
    with SlowUploadServer(lambda _path: (200, {"data": {"request_id": "never"}})) as server:
        engine = make_engine(server, upload_limit_mb=50)
        ended = {}

        def transcribe() -> None:
            with workscope.scope(cancel):
                try:
                    engine.transcribe(MediaFile(audio, 240.0), recording_job.job())
                    ended["as"] = "done"
                except Cancelled:
                    ended["as"] = "cancelled"

        worker = threading.Thread(target=transcribe)
        worker.start()
        assert server.receiving.wait(60), "the submission never started"
        cancel.set()
        worker.join(120)
        [upload] = server.wait_for_uploads(1)
        engine.close()
        uploads = len(server.uploads)

    assert ended == {"as": "cancelled"}
    assert upload.received < upload.length  # it ended before its whole body
    assert uploads == 1 and recording_job.saved_ids == []  # not sent again, nothing to poll


def test_a_cancel_never_cuts_off_the_answer_that_names_the_job(tmp_path, recording_job):
    audio = write_wav(tmp_path / "talk.wav", np.zeros(16_000 * 5, np.float32))
    cancel = threading.Event()
    deapi_still_answering = threading.Event()
    with SlowUploadServer(
        lambda _path: (200, {"data": {"request_id": "job-7"}}),
        slow_uploads=0,
        hold_answers=deapi_still_answering,
    ) as server:
        engine = make_engine(server)
        ended = {}

        def transcribe() -> None:
            with workscope.scope(cancel):
                try:
                    engine.transcribe(MediaFile(audio, 5.0), recording_job.job())
                    ended["as"] = "done"
                except Cancelled:
                    ended["as"] = "cancelled"

        worker = threading.Thread(target=transcribe)
        worker.start()
        assert server.answering.wait(60), "the submission never arrived"
        cancel.set()  # DEAPI has the whole upload and has started the job; its answer is late
        deapi_still_answering.set()
        worker.join(60)
        engine.close()
        uploads = len(server.uploads)

    # The id came back and was kept: a resume polls job-7 instead of paying for another.
    assert ended == {"as": "cancelled"} and recording_job.saved_ids == ["job-7"]
    assert uploads == 1


def piece_by_piece(filename: str, content: bytes) -> FakeTranscription:
    duration = audio_duration(content)
    return FakeTranscription([(0.0, duration, f"piece {Path(filename).stem}")], duration)


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory) -> Path:
    speech = np.concatenate([decode_mono(p) for p in SAMPLE_MEDIA[:3]])  # 41 s, 112 kB compact
    return write_wav(tmp_path_factory.mktemp("long") / "long.wav", speech)


def test_long_files_go_up_in_chunks_whose_ids_are_all_kept(recording_job, long_speech):
    limit_mb = 50_000 / 1024**2
    with FakeDeapiServer(transcriber=piece_by_piece) as server:
        transcript = make_engine(server, upload_limit_mb=limit_mb).transcribe(
            media(long_speech), recording_job.job()
        )
        ids = [job.request_id for job in server.submissions()]
    assert len(ids) >= 3
    assert recording_job.saved == CHUNK_IDS_PREFIX + ",".join(ids)
    starts = [s.start for s in transcript.segments]
    ends = [s.end for s in transcript.segments]
    assert starts[1:] == pytest.approx(ends[:-1], abs=0.01)
    assert ends[-1] == pytest.approx(audio_duration(long_speech.read_bytes()), abs=0.1)


def test_a_resumed_chunked_job_polls_what_was_sent_and_sends_only_the_rest(
    recording_job, long_speech
):
    limit_mb = 50_000 / 1024**2
    with FakeDeapiServer(transcriber=piece_by_piece) as server:
        engine = make_engine(server, upload_limit_mb=limit_mb)
        engine.transcribe(media(long_speech), recording_job.job())
        all_ids = recording_job.saved.removeprefix(CHUNK_IDS_PREFIX).split(",")
        recording_job.saved = CHUNK_IDS_PREFIX + all_ids[0]  # crashed after the first piece

        transcript = engine.transcribe(media(long_speech), recording_job.job())
        digests = server.submission_counts()
    assert len(server.submissions()) == 2 * len(all_ids) - 1
    first_piece = server.jobs[all_ids[0]].digest
    assert digests[first_piece] == 1  # the first piece was polled, not sent again
    assert len(transcript.segments) == len(all_ids)


def test_video_links_go_to_vid2txt_without_a_download(deapi_server, recording_job):
    url = "https://www.youtube.com/watch?v=jNQXAC9IVRw"
    engine = make_engine(deapi_server)
    assert engine.accepts_urls
    transcript = engine.transcribe_url(url, recording_job.job())
    (submission,) = deapi_server.submissions()
    assert submission.source == url
    assert recording_job.saved == submission.request_id
    assert url in transcript.text


def test_balance_price_and_preflight_lines(deapi_server):
    engine = make_engine(deapi_server)
    assert engine.balance() == 12.5
    assert engine.price_estimate(600) == pytest.approx(0.1)
    lines = engine.preflight(600)
    assert lines[0] == "DEAPI balance: $12.50"
    assert "$0.10" in lines[1] and "10.0 audio minutes" in lines[1]
    price = deapi_server.requests_to(f"{API}/audiofile2txt/price-calculation")[-1]
    assert price.fields == {
        "include_ts": "true",
        "model": "WhisperLargeV3",
        "duration_seconds": "600",
    }


def test_preflight_warns_when_the_balance_will_not_do(deapi_server):
    deapi_server.balance = 0.2
    lines = make_engine(deapi_server).preflight(36_000)
    assert any("more than the balance" in line for line in lines)
    assert any("rejects new jobs" in line for line in lines)


def test_a_bad_key_is_reported_without_the_key(deapi_server, caplog):
    wrong = "deapi-wrong-key-9876543210"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentError) as caught:
        make_engine(deapi_server, key=wrong).balance()
    assert caught.value.kind is ErrorKind.AUTH and "DEAPI_API_KEY" in caught.value.message
    for text in (caught.value.message, repr(caught.value), caplog.text):
        assert wrong not in text


def test_create_engine_reads_deapi_settings(deapi_server, hook, recording_job):
    settings = Settings(engine="deapi", deapi_base_url=deapi_server.url, deapi_api_key=DEAPI_KEY)
    engine = create_engine(settings, hook)
    engine._poll = FAST_POLLS
    engine._job_times = JobTimeEstimator(FAST_TIMING)
    engine.transcribe(media(WAV), recording_job.job())
    assert {provider.partition("@")[0] for provider, _, _ in hook.seen} == {"deapi"}
    assert len(hook.seen) == len(deapi_server.requests)


def test_the_first_poll_waits_for_the_learned_job_time_so_most_items_take_two_requests():
    # Jobs take a fifth of their audio's length; the engine starts knowing nothing of that.
    timing = PollTiming(prior_seconds_per_audio_second=0.02, min_interval=0.05)
    policy = PollPolicy(timing=timing, sleep_step=0.05)
    with FakeDeapiServer(job_seconds=lambda audio: 0.2 * audio) as server:
        engine = make_engine(server, poll=policy)
        for _ in range(4):  # four items, each with its own stored request id
            engine.transcribe(media(WAV), RecordingJob().job())
        polls = [job.polls for job in server.submissions()]
    # The first job is polled early, says how far it got, and is done at the second poll;
    # from then on the first poll comes when the job is done.
    assert polls[0] == 2 and polls[1:] == [1, 1, 1]
    assert len(server.requests) == 4 + sum(polls)


def test_polls_never_come_sooner_than_the_provider_asks(recording_job):
    timing = PollTiming(prior_seconds_per_audio_second=0.0, min_interval=0.01, max_first_wait=0.01)
    with FakeDeapiServer(job_seconds=lambda _audio: 0.5, status_retry_after="1") as server:
        make_engine(server, poll=PollPolicy(timing=timing, sleep_step=0.01)).transcribe(
            media(WAV), recording_job.job()
        )
        (job,) = server.submissions()
    # Polled at once, told to come back in 1 s (after the job's 0.5 s): done at the second.
    assert job.polls == 2


def test_a_submission_answered_too_late_is_never_sent_again_on_its_own(recording_job):
    # The server takes the job, then answers after the client stopped waiting.
    with FakeDeapiServer(api_key=DEAPI_KEY, latency=1.0) as server:
        settings = Settings(engine="deapi", deapi_base_url=server.url, deapi_api_key=DEAPI_KEY)
        engine = DeapiEngine(
            resolve_provider(settings),
            retry=FAST_RETRIES,
            poll=FAST_POLLS,
            timeout=httpx.Timeout(0.3, connect=5.0),
        )
        with pytest.raises(PermanentError) as raised:
            engine.transcribe(media(SAMPLE_MEDIA[1]), recording_job.job())
        submitted = len(server.submissions())

    assert submitted == 1  # counted at the server: paid at most once
    assert raised.value.kind is ErrorKind.PROVIDER
    assert "may have started the job" in raised.value.message
    assert "--retry-failed" in raised.value.message


@pytest.mark.parametrize(
    "garbled", [b'{"data": {"request_id": "9f3c', b'{"data": {}}', b"<html>OK</html>"]
)
def test_a_submission_answered_200_without_a_readable_id_is_not_submitted_again(
    deapi_server, recording_job, garbled
):
    """DEAPI took the upload and answered 200: it made (and charges for) a job. Without its id
    the job cannot be found, and sending it again pays again: the item fails, saying so."""
    deapi_server.answer_next(Reply(200, garbled))
    with pytest.raises(PermanentError) as caught:
        make_engine(deapi_server).transcribe(media(WAV), recording_job.job())
    assert "may have started the job and charged for it" in caught.value.message
    assert "--retry-failed" in caught.value.message
    assert len(deapi_server.requests_to(f"{API}/audiofile2txt")) == 1
