"""The OpenAI-compatible engine against a real HTTP server on 127.0.0.1 speaking the protocol."""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from bulk_transcribe import workscope
from bulk_transcribe.engines import create_engine
from bulk_transcribe.engines.chunking import compact_audio
from bulk_transcribe.engines.openai_api import OpenAICompatibleEngine
from bulk_transcribe.engines.presets import resolve_provider
from bulk_transcribe.engines.retries import RetryPolicy
from bulk_transcribe.errors import Cancelled, ErrorKind, PermanentError, TransientError
from bulk_transcribe.models import MediaFile
from bulk_transcribe.outputs.subtitles import render_srt
from bulk_transcribe.settings import Settings
from bulk_transcribe.workscope import ResizableSlots
from tests.engines.conftest import OPENAI_KEY, RecordingJob
from tests.fakes.base import Reply
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.slow_upload_server import SlowUploadServer, answer_verbose_json
from tests.fakes.transcripts import FakeTranscription, audio_duration, decode_mono
from tests.samples import SAMPLE_MEDIA, reference_text, word_error_rate, write_wav

FAST_RETRIES = RetryPolicy(attempts=4, base_seconds=0.01, max_seconds=0.05)
M4A = next(p for p in SAMPLE_MEDIA if p.suffix == ".m4a")


def make_engine(server: FakeOpenAIServer, hook=None, **overrides) -> OpenAICompatibleEngine:
    upload_limit_mb = overrides.pop("upload_limit_mb", None)
    settings = Settings(
        engine="openai",
        api_base=server.base_url,
        openai_api_key=overrides.pop("key", OPENAI_KEY),
        upload_limit_mb=upload_limit_mb,
    )
    return OpenAICompatibleEngine(
        resolve_provider(settings),
        hook,
        retry=overrides.pop("retry", FAST_RETRIES),
        timeout=overrides.pop("timeout", None),
        **overrides,
    )


def media(path: Path) -> MediaFile:
    return MediaFile(path=path, duration=audio_duration(path.read_bytes()))


def test_transcribes_with_timed_segments_from_verbose_json(openai_server, recording_job):
    engine = make_engine(openai_server)
    transcript = engine.transcribe(media(M4A), recording_job.job())
    assert word_error_rate(reference_text(M4A), transcript.text) == 0
    assert not transcript.timing_estimated
    assert transcript.language == "en"  # "english" in verbose_json, an ISO code for outputs
    assert transcript.segments[-1].end == pytest.approx(transcript.duration, abs=0.05)
    assert (transcript.engine, transcript.method, transcript.model) == (
        "openai",
        "openai_api",
        "whisper-1",
    )
    (request,) = openai_server.transcription_requests()
    assert request.fields["response_format"] == "verbose_json"
    assert request.fields["timestamp_granularities[]"] == "segment"
    assert request.fields["model"] == "whisper-1"
    assert request.filenames == {"file": M4A.name}  # accepted as is: no re-encoding
    assert recording_job.progress[-1] == 1.0


def test_language_and_model_are_sent_when_chosen(openai_server, recording_job):
    engine = make_engine(openai_server)
    engine.model = "whisper-large-v3"
    recording_job.language = "en"
    engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    (request,) = openai_server.transcription_requests()
    assert request.fields["language"] == "en"
    assert request.fields["model"] == "whisper-large-v3"


def test_vocabulary_hints_go_in_the_prompt_field_only_when_given(openai_server, recording_job):
    engine = make_engine(openai_server)
    engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    recording_job.prompt = "Sweynheim, Pannartz, Subiaco"
    engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    without, with_hints = openai_server.transcription_requests()
    assert "prompt" not in without.fields
    assert with_hints.fields["prompt"] == "Sweynheim, Pannartz, Subiaco"


def test_a_server_without_verbose_json_falls_back_to_json_and_marks_times_estimated(
    recording_job,
):
    with FakeOpenAIServer(api_key=OPENAI_KEY, formats=frozenset({"json"})) as server:
        engine = make_engine(server)
        first = engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
        engine.transcribe(media(SAMPLE_MEDIA[1]), recording_job.job())
        formats = [r.fields["response_format"] for r in server.transcription_requests()]
    assert first.timing_estimated
    assert word_error_rate(reference_text(SAMPLE_MEDIA[0]), first.text) == 0
    assert first.segments[-1].end == pytest.approx(first.duration, abs=0.05)
    # learned once: the second file goes straight to json
    assert formats == ["verbose_json", "json", "json"]


def test_a_text_only_server_still_works(recording_job):
    with FakeOpenAIServer(formats=frozenset({"text"})) as server:
        engine = make_engine(server)
        transcript = engine.transcribe(media(SAMPLE_MEDIA[2]), recording_job.job())
    assert transcript.timing_estimated
    assert word_error_rate(reference_text(SAMPLE_MEDIA[2]), transcript.text) == 0


@pytest.mark.parametrize("fault", ["500", "503", "drop"])
def test_transient_faults_are_retried_until_the_transcript_arrives(
    openai_server, recording_job, hook, fault
):
    openai_server.inject(fault, fault)
    engine = make_engine(openai_server, hook)
    transcript = engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert word_error_rate(reference_text(SAMPLE_MEDIA[0]), transcript.text) == 0
    assert len(openai_server.transcription_requests()) == 3
    assert len(hook.seen) == 3  # the rate limiter's hook saw every attempt, retries included


def test_rate_limits_wait_at_least_as_long_as_retry_after(openai_server, recording_job):
    openai_server.inject("429")  # Retry-After: 1
    engine = make_engine(openai_server)
    engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    limited, accepted = openai_server.transcription_requests()
    assert (limited.status, accepted.status) == (429, 200)
    assert accepted.at - limited.at >= 0.95


def test_the_rpm_limit_of_a_server_is_honoured_not_hammered(recording_job):
    with FakeOpenAIServer(rpm=1) as server:
        engine = make_engine(server, retry=RetryPolicy(attempts=2, max_retry_after=0.5))
        engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
        with pytest.raises(TransientError) as caught:
            engine.transcribe(media(SAMPLE_MEDIA[1]), recording_job.job())
    # a Retry-After of a minute is not slept through by a worker: the runner gets it
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after > 50
    assert len(server.transcription_requests()) == 2


def test_persistent_server_errors_end_as_a_transient_provider_error(openai_server, recording_job):
    openai_server.inject(*["503"] * 4)
    engine = make_engine(openai_server)
    with pytest.raises(TransientError) as caught:
        engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert caught.value.kind is ErrorKind.PROVIDER
    assert len(openai_server.transcription_requests()) == FAST_RETRIES.attempts


@pytest.mark.parametrize(
    ("status", "kind"),
    [("401", ErrorKind.AUTH), ("402", ErrorKind.QUOTA), ("422", ErrorKind.UNSUPPORTED)],
)
def test_permanent_errors_are_not_retried(openai_server, recording_job, status, kind):
    engine = make_engine(openai_server)
    engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())  # format now known
    openai_server.inject(status)
    with pytest.raises(PermanentError) as caught:
        engine.transcribe(media(SAMPLE_MEDIA[1]), recording_job.job())
    assert caught.value.kind is kind
    assert len(openai_server.transcription_requests()) == 2


def test_undecodable_media_fails_as_unsupported(openai_server, recording_job, tmp_path):
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"ID3" + bytes(200))
    engine = make_engine(openai_server)
    with pytest.raises(PermanentError) as caught:
        engine.transcribe(MediaFile(broken, 3.0), recording_job.job())
    assert caught.value.kind is ErrorKind.UNSUPPORTED


def test_a_wrong_key_fails_fast_and_never_shows_the_key(openai_server, recording_job, caplog):
    wrong = "sk-test-wrong-key-0123456789"
    engine = make_engine(openai_server, key=wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentError) as caught:
        engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    error = caught.value
    assert error.kind is ErrorKind.AUTH
    assert "OPENAI_API_KEY" in error.message
    assert error.__cause__ is None and error.__suppress_context__
    for text in (error.message, str(error), repr(error), caplog.text):
        assert wrong not in text
    assert len(openai_server.transcription_requests()) == 1


def test_slow_servers_time_out_as_transient_timeouts(recording_job):
    with FakeOpenAIServer(latency=1.0) as server:
        engine = make_engine(
            server,
            timeout=httpx.Timeout(0.3),
            retry=RetryPolicy(attempts=2, base_seconds=0.01, max_seconds=0.02),
        )
        with pytest.raises(TransientError) as caught:
            engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert caught.value.kind is ErrorKind.TIMEOUT


def test_an_unreachable_server_is_a_network_error(recording_job):
    with FakeOpenAIServer() as server:
        engine = make_engine(server, retry=RetryPolicy(attempts=1))
    with pytest.raises(TransientError) as caught:  # the server is gone now
        engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert caught.value.kind is ErrorKind.NETWORK


def chunk_by_chunk(filename: str, content: bytes) -> FakeTranscription:
    """Says which piece it got, timed over that piece only, as a real server would."""
    duration = audio_duration(content)
    return FakeTranscription([(0.0, duration, f"piece {Path(filename).stem}")], duration)


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory) -> Path:
    """Four samples back to back: about 53 s, 150 kB once compact."""
    speech = np.concatenate([decode_mono(p) for p in SAMPLE_MEDIA[:4]])
    return write_wav(tmp_path_factory.mktemp("long") / "long.wav", speech)


def test_files_over_the_upload_limit_are_chunked_and_stitched_on_one_timeline(
    recording_job, long_speech
):
    limit = 60_000  # bytes: the compact file is about 150 kB
    with FakeOpenAIServer(max_upload_bytes=limit, transcriber=chunk_by_chunk) as server:
        engine = make_engine(server, upload_limit_mb=limit / 1024**2)
        transcript = engine.transcribe(media(long_speech), recording_job.job())
        requests = server.transcription_requests()
    assert len(requests) >= 3
    assert all(r.status == 200 and r.sizes["file"] <= limit for r in requests)
    starts = [s.start for s in transcript.segments]
    ends = [s.end for s in transcript.segments]
    assert starts[0] == 0.0
    assert starts[1:] == pytest.approx(ends[:-1], abs=0.01)  # contiguous pieces, offset right
    assert ends[-1] == pytest.approx(audio_duration(long_speech.read_bytes()), abs=0.1)
    assert [s.text for s in transcript.segments] == [
        f"piece long.part{i:03d}" for i in range(len(requests))
    ]
    assert recording_job.progress[-1] == 1.0
    assert recording_job.progress == sorted(recording_job.progress)


def test_cancel_between_chunks_stops_without_more_uploads(recording_job, long_speech):
    def on_progress(fraction: float) -> None:
        if fraction > 0:  # the first piece is done: the user cancels
            raise Cancelled()

    with FakeOpenAIServer(transcriber=chunk_by_chunk) as server:
        engine = make_engine(server, upload_limit_mb=60_000 / 1024**2)
        job = recording_job.job()
        job = type(job)(options=job.options, on_progress=on_progress)
        with pytest.raises(Cancelled):
            engine.transcribe(media(long_speech), job)
        assert len(server.transcription_requests()) == 1


def test_create_engine_builds_it_from_settings_with_the_hook(openai_server, hook, recording_job):
    settings = Settings(engine="openai", api_base=openai_server.base_url, openai_api_key=OPENAI_KEY)
    engine = create_engine(settings, hook)
    engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert hook.seen == [(engine.provider.provider_id, "POST", "/v1/audio/transcriptions")]
    assert engine.provider.provider_id.startswith("custom@")
    assert hook.statuses == [200]


def test_long_media_is_cut_and_its_pieces_uploaded_in_parallel(recording_job, long_speech):
    latency = 2.0
    with FakeOpenAIServer(transcriber=chunk_by_chunk, latency=latency) as server:
        engine = make_engine(server, concurrency=3, parallel_chunk_seconds=15.0)
        transcript = engine.transcribe(media(long_speech), recording_job.job())
        arrivals = sorted(r.at for r in server.transcription_requests())

    assert len(arrivals) >= 3
    # Several pieces were on the wire before the first answer could have come back.
    assert sum(1 for at in arrivals if at < arrivals[0] + latency) >= 2
    texts = [s.text for s in transcript.segments]
    assert texts == sorted(texts)  # stitched back in the original order
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and starts[-1] > 30.0  # offsets on the original timeline
    assert recording_job.progress[-1] == 1.0


def test_an_opus_file_goes_up_byte_for_byte_as_ogg(openai_server, recording_job, tmp_path):
    opus = tmp_path / "talk.opus"
    compact_audio(SAMPLE_MEDIA[0], tmp_path / "talk.ogg").path.rename(opus)

    transcript = make_engine(openai_server).transcribe(media(opus), recording_job.job())

    (upload,) = openai_server.transcription_requests()
    assert upload.filenames == {"file": "talk.ogg"} and upload.sizes == {
        "file": opus.stat().st_size
    }
    assert transcript.text


class InFlight:
    """A RequestHook that notes the most requests ever in flight at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()

    def before_request(self, provider, request) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def after_response(self, provider, request, response) -> None:
        with self.lock:
            self.now -= 1


def test_chunk_uploads_take_their_slots_from_the_live_concurrency(recording_job, long_speech):
    limit = {"now": 3}
    slots = ResizableSlots(lambda: limit["now"])
    in_flight = InFlight()
    with FakeOpenAIServer(transcriber=chunk_by_chunk, latency=0.3) as server:
        engine = make_engine(server, in_flight, concurrency=3, parallel_chunk_seconds=10.0)
        with workscope.scope(slots=slots):
            engine.transcribe(media(long_speech), recording_job.job())
            parallel = in_flight.most
            limit["now"] = 1  # the run fell back to sequential
            in_flight.most = 0
            engine.transcribe(media(long_speech), RecordingJob().job())
        uploads = len(server.transcription_requests())
    assert parallel >= 2 and in_flight.most == 1 and uploads >= 8


def test_cancel_during_parallel_chunk_uploads_returns_without_waiting_for_them(
    recording_job, long_speech
):
    cancel = threading.Event()
    with FakeOpenAIServer(transcriber=chunk_by_chunk, latency=20.0) as server:
        engine = make_engine(server, concurrency=3, parallel_chunk_seconds=10.0)
        threading.Timer(0.5, cancel.set).start()
        with workscope.scope(cancel=cancel), pytest.raises(Cancelled):
            engine.transcribe(media(long_speech), recording_job.job())
        answered = len(server.transcription_requests())  # noted when answered
    assert answered == 0  # the item returned without waiting for the uploads in flight


class FailingPiece(FakeOpenAIServer):
    """Answers 503 to the first `failures` uploads of one piece of a long file."""

    def __init__(self, piece: str, failures: int, **knobs):
        super().__init__(**knobs)
        self.piece, self.failures = piece, failures

    def route(self, request):
        upload = request.files.get("file")
        if upload is not None and self.piece in upload.filename and self.failures > 0:
            self.failures -= 1
            return Reply(503, {"error": {"message": "overloaded"}})
        return super().route(request)


def test_a_retried_item_uploads_only_the_pieces_not_yet_transcribed(
    tmp_path, long_speech, monkeypatch
):
    from bulk_transcribe.models import ItemSpec, SourceType
    from bulk_transcribe.runner import Runner, create_session
    from bulk_transcribe.runner import runner as runner_module
    from bulk_transcribe.store import Store

    monkeypatch.setattr(runner_module, "RETRY_BASE_SECONDS", 0.01)
    limit = 60_000
    # The third piece fails on every try of the first attempt: the item is retried.
    with FailingPiece("part002", FAST_RETRIES.attempts, transcriber=chunk_by_chunk) as server:
        settings = Settings(
            out_dir=tmp_path / "out",
            formats="txt",
            engine="openai",
            api_base=server.base_url,
            openai_api_key=OPENAI_KEY,
            upload_limit_mb=limit / 1024**2,
        )
        with Store(settings.database) as store:
            spec = ItemSpec(str(long_speech), SourceType.LOCAL_FILE)
            session = create_session(store, settings, [spec])
            engine = make_engine(server, upload_limit_mb=limit / 1024**2)
            counts = Runner(store, session.id, settings, engine=engine).run()
            (item,) = store.items(session.id)
            leftover = store.chunk_results(item.id)
        uploads = Counter(r.filenames["file"] for r in server.transcription_requests())

    assert counts.done == 1 and item.attempts == 2
    pieces = sorted(uploads)
    assert len(pieces) >= 3
    # Counted at the server: every piece but the failing one went up exactly once.
    assert {name: n for name, n in uploads.items() if "part002" not in name} == dict.fromkeys(
        [p for p in pieces if "part002" not in p], 1
    )
    assert sum(n for name, n in uploads.items() if "part002" in name) == FAST_RETRIES.attempts + 1
    assert leftover == {}  # the item is done: its pieces are no longer kept
    text = (session.folder / next(p for p in item.outputs)).read_text(encoding="utf-8")
    assert [line for line in text.split() if line.startswith("long.part")] == [
        Path(p).stem for p in pieces
    ]


def test_a_cancel_ends_an_upload_in_flight_and_frees_its_slot(tmp_path):
    from bulk_transcribe.models import ItemSpec, SourceType
    from bulk_transcribe.runner import create_session
    from bulk_transcribe.runner.work import UnitReporter, WorkUnit, run_unit
    from bulk_transcribe.store import Store

    # Four minutes of 16 kHz WAV (7.7 MB), uploaded as it is: far more than the sockets buffer.
    audio = write_wav(tmp_path / "talk.wav", np.zeros(16_000 * 240, np.float32))
    slots = ResizableSlots(lambda: 1)
    cancel = threading.Event()
    with SlowUploadServer(answer_verbose_json) as server:
        settings = Settings(
            out_dir=tmp_path / "out",
            engine="openai",
            api_base=f"{server.url}/v1",
            openai_api_key=OPENAI_KEY,
            upload_limit_mb=50,
        )
        with Store(settings.database) as store:
            session = create_session(store, settings, [ItemSpec(str(audio), SourceType.LOCAL_FILE)])
            [item] = store.items(session.id)
        engine = OpenAICompatibleEngine(resolve_provider(settings), retry=FAST_RETRIES)
        unit = WorkUnit(item=item, attempt=1)
        reporter = UnitReporter(unit, lambda _message: None, cancel)
        ended = {}
        worker = threading.Thread(
            target=lambda: ended.update(
                outcome=run_unit(unit, settings, lambda: engine, reporter, slots)
            )
        )
        worker.start()
        assert server.receiving.wait(60), "the upload never started"
        held_while_sending = slots.held
        cancel.set()  # the user stops the session while the upload is on the wire
        worker.join(120)
        [first] = server.wait_for_uploads(1)
        outcome = ended["outcome"]

        # The freed slot takes the next request, which goes through whole.
        with workscope.scope(threading.Event(), slots):
            transcript = engine.transcribe(MediaFile(audio, 240.0), RecordingJob().job())
        uploads = server.wait_for_uploads(2)
        engine.close()

    assert outcome.cancelled and outcome.error is None and outcome.transcript is None
    assert first.received < first.length  # the upload ended before its whole body
    assert held_while_sending == 1 and slots.held == 0
    assert transcript.text == "the river is high" and uploads[1].whole


def test_a_cancel_ends_the_wait_for_an_answer_and_frees_its_slot(tmp_path):
    audio = write_wav(tmp_path / "talk.wav", np.zeros(16_000 * 5, np.float32))
    slots = ResizableSlots(lambda: 1)
    cancel = threading.Event()
    provider_still_transcribing = threading.Event()
    with SlowUploadServer(
        answer_verbose_json, slow_uploads=0, hold_answers=provider_still_transcribing
    ) as server:
        engine = make_engine(server)
        ended = {}

        def transcribe() -> None:
            with workscope.scope(cancel, slots):
                try:
                    engine.transcribe(MediaFile(audio, 5.0), RecordingJob().job())
                    ended["as"] = "done"
                except Cancelled:
                    ended["as"] = "cancelled"

        worker = threading.Thread(target=transcribe)
        worker.start()
        assert server.answering.wait(60), "the upload never arrived"
        cancel.set()  # the upload is whole; the provider has not answered yet
        worker.join(30)  # a bound for the old behaviour, which waits for the answer
        returned_before_the_answer = not worker.is_alive()
        held_after = slots.held
        provider_still_transcribing.set()
        worker.join(60)
        engine.close()

    assert returned_before_the_answer and ended == {"as": "cancelled"}
    assert held_after == 0


def test_segments_with_unusable_times_come_back_finite_ordered_and_within_the_audio(
    openai_server, recording_job
):
    """A server's verbose_json with NaN/infinite/negative times, segments out of order and one
    past the end: every word is kept, every time is a number inside the clip, in order (a NaN
    time used to reach the subtitle writer and stop the whole run)."""
    clip = media(SAMPLE_MEDIA[0])
    odd = [
        {"start": 3.0, "end": 4.0, "text": " third"},
        {"start": 0.0, "end": 2.5, "text": " first"},
        {"start": 1.0, "end": 3.5, "text": " overlapping"},
        {"start": 400.0, "end": 500.0, "text": " past the end"},
        {"start": "NaN", "end": "inf", "text": " no time"},
        {"start": -5, "end": -1, "text": " negative"},
    ]
    openai_server.answer_next(
        Reply(200, {"text": "x", "language": "english", "duration": "NaN", "segments": odd})
    )
    transcript = make_engine(openai_server).transcribe(clip, recording_job.job())
    times = [t for s in transcript.segments for t in (s.start, s.end)]
    assert sorted(s.text for s in transcript.segments) == sorted(s["text"].strip() for s in odd)
    assert all(math.isfinite(t) and 0 <= t <= clip.duration for t in times)
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)
    assert all(s.end >= s.start for s in transcript.segments)
    assert "-->" in render_srt(transcript)


@pytest.mark.parametrize(
    "refusal",
    [
        Reply(400, {"error": {"message": "Audio file is too short. Minimum audio length is "
                              "0.1 seconds.", "param": "file", "code": "audio_too_short"}}),
        Reply(400, {"error": {"message": "Invalid file format. Supported formats: ['flac', "
                              "'m4a', 'mp3']", "type": "invalid_request_error"}}),
    ],
)  # fmt: skip
def test_a_refused_upload_is_not_sent_again_in_other_response_formats(
    openai_server, recording_job, refusal
):
    """A refusal of the file itself is not a refusal of verbose_json: one upload, not three.
    (A 413 is not sent again as json either: it makes the uploads smaller, below.)"""
    openai_server.answer_next(refusal, refusal, refusal)
    with pytest.raises(PermanentError) as caught:
        make_engine(openai_server).transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert caught.value.kind is ErrorKind.UNSUPPORTED
    assert len(openai_server.transcription_requests()) == 1


def test_a_refusal_that_names_the_response_format_still_falls_back(openai_server, recording_job):
    said = (
        "response_format 'verbose_json' is not compatible with model 'gpt-4o-transcribe'. "
        "Use 'json' or 'text' instead."
    )
    refusal = Reply(400, {"error": {"message": said, "type": "invalid_request_error"}})
    openai_server.answer_next(refusal)
    transcript = make_engine(openai_server).transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    formats = [r.fields["response_format"] for r in openai_server.transcription_requests()]
    assert formats == ["verbose_json", "json"] and transcript.timing_estimated


def test_an_unreadable_answer_is_asked_for_once_more_not_four_times(openai_server, recording_job):
    """A 200 whose body is cut off was transcribed and charged: one more try, not four."""
    openai_server.inject("malformed")
    transcript = make_engine(openai_server).transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert word_error_rate(reference_text(SAMPLE_MEDIA[0]), transcript.text) == 0
    openai_server.inject("malformed", "malformed")
    with pytest.raises(PermanentError) as caught:  # the runner does not try it twice more
        make_engine(openai_server).transcribe(media(SAMPLE_MEDIA[1]), recording_job.job())
    assert "could not be read" in caught.value.message
    assert "--retry-failed" in caught.value.message
    assert len(openai_server.transcription_requests()) == 2 + 2


def test_plain_text_answered_to_a_json_request_is_the_transcript(openai_server, recording_job):
    openai_server.answer_next(Reply(200, "Hello there. General talk about panels.\n"))
    transcript = make_engine(openai_server).transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert transcript.text == "Hello there. General talk about panels."
    assert transcript.timing_estimated
    assert len(openai_server.transcription_requests()) == 1


@pytest.mark.parametrize("formats", [frozenset({"verbose_json"}), frozenset({"text"})])
def test_a_200_carrying_an_error_is_an_error_with_its_words_not_a_transcript(
    recording_job, formats
):
    error = {"error": {"message": "upstream worker crashed", "type": "server_error"}}
    with FakeOpenAIServer(formats=formats) as server:
        engine = make_engine(server)
        if formats == {"text"}:  # learn the format first: the error comes on a known one
            engine.transcribe(media(SAMPLE_MEDIA[1]), recording_job.job())
        server.answer_next(*[Reply(200, error)] * FAST_RETRIES.attempts)
        with pytest.raises(TransientError) as caught:
            engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert caught.value.kind is ErrorKind.PROVIDER
    assert "upstream worker crashed" in caught.value.message


def test_a_429_without_retry_after_waits_for_the_reset_its_rate_limit_headers_give(
    openai_server, recording_job, tmp_path
):
    """OpenAI and Groq answer 429 with x-ratelimit-* headers, often without Retry-After: the
    reset of the used-up limit is the wait, not a few seconds' guess that meets more 429s."""
    from bulk_transcribe.runner.ratelimit import RateLimitHook

    headers = {
        "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "40s", "x-ratelimit-remaining-tokens": "9000",
        "x-ratelimit-reset-tokens": "6ms",
    }  # fmt: skip
    limited = Reply(429, {"error": {"message": "Rate limit reached for requests"}}, headers)
    openai_server.answer_next(limited)
    hook = RateLimitHook(budget_path=tmp_path / "budgets.sqlite")
    engine = make_engine(openai_server, hook, retry=RetryPolicy(attempts=1))
    with pytest.raises(TransientError) as caught:
        engine.transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 40
    (budget,) = hook.stats()
    assert budget.count_429 == 1 and budget.paused_seconds > 30


def test_a_proxy_error_page_is_named_by_its_title_not_pasted_as_html(openai_server, recording_job):
    page = (
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
        "</h1></center><hr><center>nginx</center>" + " " * 2000 + "</body></html>"
    )
    openai_server.answer_next(*[Reply(502, page.encode())] * FAST_RETRIES.attempts)
    with pytest.raises(TransientError) as caught:
        make_engine(openai_server).transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
    assert caught.value.message.endswith("server error (HTTP 502) (502 Bad Gateway)")


def test_a_413_from_a_proxy_makes_uploads_smaller_and_the_items_still_go_through(recording_job):
    """A proxy before the server takes less than the preset's 25 MB (nginx: 1 MB by default):
    the refused upload goes again compact, and later items start under the learned limit."""
    wav = SAMPLE_MEDIA[0]  # 507 kB as it is, about 40 kB compact
    limit = 300_000
    with FakeOpenAIServer(max_upload_bytes=limit) as server:
        engine = make_engine(server)
        first = engine.transcribe(media(wav), recording_job.job())
        second = engine.transcribe(media(wav), recording_job.job())
        uploads = [(r.status, r.sizes["file"]) for r in server.transcription_requests()]
    for transcript in (first, second):
        assert word_error_rate(reference_text(wav), transcript.text) == 0
    assert uploads[0] == (413, wav.stat().st_size)
    assert len(uploads) == 3  # the refused one, then each item once, compact
    assert all(status == 200 and size <= limit for status, size in uploads[1:])


def test_a_server_refusing_every_size_ends_the_item_after_a_few_uploads(recording_job):
    with FakeOpenAIServer(max_upload_bytes=1000) as server:
        with pytest.raises(PermanentError) as caught:
            make_engine(server).transcribe(media(SAMPLE_MEDIA[0]), recording_job.job())
        uploads = [r.status for r in server.transcription_requests()]
    assert caught.value.kind is ErrorKind.UNSUPPORTED and "413" in caught.value.message
    assert 2 <= len(uploads) <= 5 and set(uploads) == {413}
