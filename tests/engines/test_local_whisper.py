"""The local engine transcribes real speech in every container with the bundled model."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pyannote.core import Annotation
from pyannote.core import Segment as Span
from pyannote.metrics.diarization import DiarizationErrorRate

from bulk_transcribe.engines import EngineJob, load_local_engine_early, local_whisper, sections
from bulk_transcribe.engines.local_whisper import (
    BATCH_SIZE,
    MAX_SEGMENT_SECONDS,
    DeviceChoice,
    LocalWhisperEngine,
    choose_device,
    cuda_device_count,
    inference_layout,
    load_model,
    resolve_model,
    sentences_from_words,
    vad_options,
    whisper_prompt,
)
from bulk_transcribe.engines.pcm import decode_pcm16
from bulk_transcribe.engines.voice_encoders import load_voice_encoder
from bulk_transcribe.errors import Cancelled, ErrorKind, PermanentError
from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import MediaFile, TranscribeOptions
from bulk_transcribe.settings import Settings
from tests.engines.speaker_extra import needs_campplus
from tests.engines.test_diarization import true_turns
from tests.samples import SAMPLE_MEDIA, reference_text, word_error_rate

RARE_NAMES = Path(__file__).resolve().parents[1] / "data" / "speech" / "ljspeech_rare_names.opus"
OPENS_WITH_A_NAME = RARE_NAMES.with_name("librivox_dashwood.opus")
# The same reading through a telephone band: 300-3400 Hz, 8 kHz, G.711 mu-law (data/speech).
OVER_THE_PHONE = RARE_NAMES.with_name("librivox_dashwood_telephone.wav")
DASHWOOD = (
    "And Mr. John Dashwood had then leisure to consider how much there might be prudently "
    "in his power to do for them."
)
MAX_WER = 0.25  # tiny.en on synthetic speech; measured about 0.06 overall


@pytest.fixture(scope="module")
def engine() -> LocalWhisperEngine:
    return LocalWhisperEngine()


def job(progress: list[float] | None = None, language: str | None = None) -> EngineJob:
    sink = progress if progress is not None else []
    return EngineJob(options=TranscribeOptions(language=language), on_progress=sink.append)


@pytest.mark.parametrize("media", SAMPLE_MEDIA, ids=lambda p: p.suffix)
def test_transcribes_every_bundled_container_close_to_the_source_text(
    engine: LocalWhisperEngine, media: Path
) -> None:
    transcript = engine.transcribe(MediaFile(media, probe_duration(media)), job())

    assert word_error_rate(reference_text(media), transcript.text) < MAX_WER
    assert transcript.language == "en"
    assert transcript.method == "local_whisper"
    assert transcript.duration == pytest.approx(probe_duration(media), abs=0.5)


def test_segments_are_ordered_and_inside_the_audio(engine: LocalWhisperEngine) -> None:
    media = SAMPLE_MEDIA[0]
    transcript = engine.transcribe(MediaFile(media), job())

    assert len(transcript.segments) >= 2  # sentence-sized, not one 30-second chunk
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)
    assert all(s.end > s.start for s in transcript.segments)
    assert transcript.segments[-1].end <= (transcript.duration or 0) + 1.0
    assert all(s.end - s.start <= MAX_SEGMENT_SECONDS + 0.5 for s in transcript.segments)


def test_progress_is_reported_by_audio_position_up_to_one(engine: LocalWhisperEngine) -> None:
    progress: list[float] = []
    engine.transcribe(MediaFile(SAMPLE_MEDIA[0]), job(progress))

    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    assert len(progress) >= 2


def test_silence_gives_an_empty_transcript_not_an_error(
    engine: LocalWhisperEngine, silence_wav: Path
) -> None:
    transcript = engine.transcribe(MediaFile(silence_wav), job())

    assert transcript.is_empty
    assert transcript.segments == []


def test_corrupt_media_is_a_decode_error_naming_the_file(
    engine: LocalWhisperEngine, corrupt_mp3: Path
) -> None:
    with pytest.raises(PermanentError) as caught:
        engine.transcribe(MediaFile(corrupt_mp3), job())

    assert caught.value.kind is ErrorKind.DECODE
    assert "corrupt.mp3" in caught.value.message


def test_cancelling_from_the_progress_callback_stops_the_transcription(
    engine: LocalWhisperEngine,
) -> None:
    def cancel(_fraction: float) -> None:
        raise Cancelled()

    with pytest.raises(Cancelled):
        engine.transcribe(
            MediaFile(SAMPLE_MEDIA[0]),
            EngineJob(options=TranscribeOptions(), on_progress=cancel),
        )


def test_the_model_and_its_batching_service_are_shared_within_a_process() -> None:
    first = LocalWhisperEngine("tiny.en", cores=2)
    second = LocalWhisperEngine("bundled:tiny.en", cores=2)
    first.warm_up()
    second.warm_up()
    try:
        assert first._service() is second._service()
    finally:
        first.close()
    # The other engine still holds it: closing one never stops the other's service.
    result = second.transcribe(MediaFile(SAMPLE_MEDIA[0]), job())
    second.close()
    assert word_error_rate(reference_text(SAMPLE_MEDIA[0]), result.text) <= MAX_WER


def test_items_transcribed_at_once_get_their_own_transcripts_and_progress(
    engine: LocalWhisperEngine,
) -> None:
    alone = {media: engine.transcribe(MediaFile(media), job()).text for media in SAMPLE_MEDIA}
    progress: dict[Path, list[float]] = {media: [] for media in SAMPLE_MEDIA}

    def one(media: Path) -> str:
        return engine.transcribe(MediaFile(media), job(progress[media])).text

    with ThreadPoolExecutor(len(SAMPLE_MEDIA)) as pool:
        together = dict(zip(SAMPLE_MEDIA, pool.map(one, SAMPLE_MEDIA), strict=True))

    for media in SAMPLE_MEDIA:
        assert word_error_rate(alone[media], together[media]) <= 0.05, media.name
        assert progress[media] == sorted(progress[media]) and progress[media][-1] == 1.0


def test_a_model_loaded_early_is_the_one_items_use_and_closing_lets_it_go() -> None:
    # int8_float32: a model of its own here, so this load is a real one.
    settings = Settings(engine="local", model="tiny.en", compute_type="int8_float32")
    with local_whisper._shared_lock:  # the load waits for this: it is still under way below
        engine = load_local_engine_early(settings)
        assert isinstance(engine, LocalWhisperEngine)
        loading = engine._loader
        assert loading is not None and loading.is_alive()
    loading.join()
    shared = engine._shared
    assert shared is not None and shared.users == 1  # loaded on its thread, for this engine

    result = engine.transcribe(MediaFile(SAMPLE_MEDIA[0]), job())
    assert engine._shared is shared  # the item did not load another one
    engine.close()

    assert shared not in local_whisper._shared.values()  # the last user let it go
    assert word_error_rate(reference_text(SAMPLE_MEDIA[0]), result.text) <= MAX_WER


def test_closing_while_the_model_still_loads_lets_it_go_once_loaded() -> None:
    engine = LocalWhisperEngine("tiny.en", cores=1)  # its own shared model (one core)
    with local_whisper._shared_lock:  # the load cannot finish before the close
        engine.load_in_background()
        loading = engine._loader
        assert loading is not None
        engine.close()  # returns at once (it would wait forever here otherwise)
    loading.join()

    assert engine._loader is None and engine._shared is None
    # Nothing else here runs one batch on one core: the model loaded is gone with its service.
    assert (resolve_model("tiny.en"), 1, 1, "int8", "cpu") not in local_whisper._shared


@pytest.mark.parametrize(
    "settings",
    [Settings(engine="openai"), Settings(engine="local", executor="ray")],
    ids=["cloud engine", "ray workers"],
)
def test_nothing_is_loaded_early_when_items_run_elsewhere(settings: Settings) -> None:
    assert load_local_engine_early(settings) is None


def test_an_early_load_that_fails_is_reported_by_the_first_item(
    tmp_path: Path, corrupt_mp3: Path
) -> None:
    engine = LocalWhisperEngine(str(tmp_path / "no-such-model"), cores=1)
    engine.load_in_background()  # fails on its thread, quietly
    assert engine._loader is not None
    engine._loader.join()

    # The audio is read before the model is asked for: a broken file is named as such.
    with pytest.raises(PermanentError) as broken:
        engine.transcribe(MediaFile(corrupt_mp3), job())
    assert broken.value.kind is ErrorKind.DECODE
    # A readable one reaches the model, whose load fails again, now with the reason.
    with pytest.raises(PermanentError) as caught:
        engine.transcribe(MediaFile(SAMPLE_MEDIA[0]), job())
    assert caught.value.kind is ErrorKind.MODEL
    assert "--model tiny.en" in caught.value.message
    engine.close()


def test_default_names_resolve_to_the_bundled_model_folder_as_a_string() -> None:
    resolved = resolve_model("bundled:tiny.en")

    assert isinstance(resolved, str)
    assert (Path(resolved) / "model.bin").is_file()


def test_a_missing_named_model_gives_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(PermanentError) as caught:
        load_model(str(tmp_path / "no-such-model"), 1, 1)

    assert caught.value.kind is ErrorKind.MODEL
    assert "--model tiny.en" in caught.value.message


@pytest.mark.parametrize(
    ("cores", "workers", "layout"),
    [
        (2, None, (1, 2)),  # a batch per core, a thread each
        (8, None, (2, 4)),
        (4, 2, (2, 2)),  # asked for
        (1, 3, (1, 1)),
    ],
)
def test_the_cores_are_split_between_batches_run_at_once(
    cores: int, workers: int | None, layout: tuple[int, int]
) -> None:
    assert inference_layout(cores, workers) == layout


def test_the_engine_takes_one_item_more_than_it_runs_batches() -> None:
    # A batch per core, and one item being prepared while they run (runner read-ahead).
    assert LocalWhisperEngine(cores=2).items_at_once == 3
    assert LocalWhisperEngine(cores=1).items_at_once == 2


def test_a_long_batch_chunk_is_cut_into_sentences_with_exact_word_times() -> None:
    from faster_whisper.transcribe import Segment as RawSegment
    from faster_whisper.transcribe import Word

    words = [
        Word(0.0, 0.5, " Solar", 0.9),
        Word(0.5, 2.9, " panels work", 0.9),
        Word(2.9, 3.4, " On", 0.9),  # a new sentence whose full stop the model dropped
        Word(3.4, 4.0, " sunny", 0.9),
        Word(4.0, 4.5, " days.", 0.9),
        Word(6.0, 6.5, " Rain", 0.9),
    ]
    chunk = RawSegment(
        id=0,
        seek=0,
        start=0.0,
        end=6.5,
        text="unused",
        tokens=[],
        avg_logprob=0,
        compression_ratio=0,
        no_speech_prob=0,
        words=words,
        temperature=0,
    )

    segments = sentences_from_words(words, chunk)

    assert [(s.start, s.end, s.text) for s in segments] == [
        (0.0, 2.9, "Solar panels work"),
        (2.9, 4.5, "On sunny days."),
        (6.0, 6.5, "Rain"),
    ]


CONVERSATION = Path(__file__).resolve().parents[1] / "data" / "speakers" / "libri_mf.flac"
CONVERSATION_BY_PHONE = CONVERSATION.with_name("libri_mf_telephone.wav")


def test_speaker_labels_split_the_transcript_into_two_speakers_turns() -> None:
    labelled = LocalWhisperEngine(speakers="auto")
    try:
        transcript = labelled.transcribe(MediaFile(CONVERSATION), job())
    finally:
        labelled.close()

    speakers = [segment.speaker for segment in transcript.segments]
    assert set(speakers) == {1, 2}
    # The true turns alternate ten times; every change of speaker starts a new segment.
    changes = sum(1 for a, b in itertools.pairwise(speakers) if a != b)
    assert 7 <= changes <= 12
    assert transcript.decoding["speakers"] == "auto"
    # The default encoder here, recorded as the one that labelled them.
    assert transcript.decoding["speaker_encoder"] == load_voice_encoder().name
    assert transcript.decoding["speaker_turns"] == "windows"  # overlap was not asked for


def test_a_telephone_conversation_s_words_go_to_the_speaker_who_said_them() -> None:
    """The two-voice conversation through a telephone band (8 kHz G.711, data/speakers):
    found at the VAD's usual threshold, its speech regions lost words, and 6.5 % of the
    speech went to the wrong speaker (two of the nine changes of speaker missed). At the
    narrowband threshold the words get, none does."""
    labelled = LocalWhisperEngine(speakers="auto", speaker_encoder="resemblyzer")
    try:
        transcript = labelled.transcribe(MediaFile(CONVERSATION_BY_PHONE), job())
    finally:
        labelled.close()

    found = Annotation()
    for segment in transcript.segments:
        found[Span(segment.start, segment.end)] = segment.speaker
    detail = DiarizationErrorRate(collar=0.5)(true_turns(CONVERSATION), found, detailed=True)
    assert set(found.labels()) == {1, 2}
    assert detail["confusion"] / detail["total"] < 0.02


def test_the_device_is_the_cpu_unless_a_gpu_is_asked_for_and_there() -> None:
    cpu_batch = BATCH_SIZE
    assert choose_device("cpu", "int8", cpu_batch, 2) == DeviceChoice("cpu", "int8", cpu_batch)
    assert choose_device("auto", "int8", cpu_batch, 0) == DeviceChoice("cpu", "int8", cpu_batch)
    # On a GPU: float16 and larger batches instead of the CPU defaults, the user's own kept.
    assert choose_device("auto", "int8", cpu_batch, 1) == DeviceChoice("cuda", "float16", 16)
    assert choose_device("cuda", "int8_float16", 2, 1) == DeviceChoice("cuda", "int8_float16", 2)
    with pytest.raises(PermanentError, match="--device cpu"):
        choose_device("cuda", "int8", 8, cuda_devices=0)


def test_the_device_is_chosen_from_what_ctranslate2_sees_on_this_machine() -> None:
    gpus = cuda_device_count()
    engine = LocalWhisperEngine(device="auto")
    assert engine.device_choice.device == ("cuda" if gpus else "cpu")
    assert engine.decoding["device"] == engine.device_choice.device
    if gpus == 0:
        with pytest.raises(PermanentError) as caught:
            LocalWhisperEngine(device="cuda").warm_up()
        assert caught.value.kind is ErrorKind.MODEL


@pytest.mark.slow
def test_rare_names_are_spelled_as_the_hints_give_them(engine: LocalWhisperEngine) -> None:
    """A real reading (LJSpeech) naming the printers Sweynheim and Pannartz: the model hears
    "Swainheim and Panerts" unless told the names."""

    def text(**hints: str) -> str:
        options = TranscribeOptions(word_times=False, **hints)
        job = EngineJob(options=options, on_progress=lambda _: None)
        return engine.transcribe(MediaFile(RARE_NAMES), job).text

    assert "Sweynheim" not in text() and "Pannartz" not in text()
    assert {"Sweynheim", "Pannartz"} <= set(text(prompt="Sweynheim, Pannartz").split())
    assert "Pannartz" in text(hotwords="Sweynheim Pannartz")


@pytest.mark.slow
def test_a_name_given_as_a_hint_that_opens_the_recording_is_still_heard(
    engine: LocalWhisperEngine,
) -> None:
    """Whisper reads its prompt as the words said just before the audio: given the bare
    list "Mr. John Dashwood", it began after them ("would have then leisure ...")."""
    options = TranscribeOptions(word_times=False, prompt="Mr. John Dashwood")
    job = EngineJob(options=options, on_progress=lambda _: None)
    opening = engine.transcribe(MediaFile(OPENS_WITH_A_NAME), job).text.split()[:4]
    assert "Dashwood" in opening


def test_a_telephone_recording_keeps_its_first_word(engine: LocalWhisperEngine) -> None:
    """Silero VAD scores telephone-band speech about half (0.4-0.6 where clean speech scores
    0.99), so at its usual threshold the opening "And" fell out: "Mr. John Dashwood had ..."."""
    options = TranscribeOptions(word_times=False)
    job = EngineJob(options=options, on_progress=lambda _: None)
    text = engine.transcribe(MediaFile(OVER_THE_PHONE), job).text

    assert text.split()[:4] == ["And", "Mr.", "John", "Dashwood"]
    assert word_error_rate(DASHWOOD, text) < 0.1


def source_rate(path: Path) -> int | None:
    return decode_pcm16(path).stored_rate


def test_only_recordings_stored_at_telephone_rates_get_the_lower_vad_threshold() -> None:
    assert source_rate(OVER_THE_PHONE) == 8000
    assert vad_options(source_rate(OVER_THE_PHONE)).threshold < 0.5
    assert vad_options(source_rate(OPENS_WITH_A_NAME)) is None  # faster-whisper's own
    assert vad_options(None) is None


def test_hints_reach_whisper_as_a_labelled_list_that_ends_a_sentence() -> None:
    assert whisper_prompt("Sweynheim, Pannartz, ") == "Spelled: Sweynheim, Pannartz."
    assert whisper_prompt("Mr. John Dashwood.") == "Spelled: Mr. John Dashwood."
    assert whisper_prompt("  ") is None and whisper_prompt(None) is None


@pytest.mark.slow
def test_a_recording_cut_into_sections_keeps_its_words_and_its_timeline(
    engine: LocalWhisperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sections of 6 s instead of ten minutes, so a short real clip takes the long path."""
    monkeypatch.setattr(sections, "SECTION_SECONDS", 6.0)
    options = TranscribeOptions(word_times=True)
    transcript = engine.transcribe(
        MediaFile(RARE_NAMES), EngineJob(options=options, on_progress=lambda _: None)
    )

    text = transcript.text.lower()
    assert "gothic and roman" in text  # the last section's words
    assert text.count("monastery") == 1 and text.count("beautiful") == 1  # once each
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and transcript.segments[-1].end > 12.0


OVERLAPPING = CONVERSATION.with_name("overlap_mf.flac")


@needs_campplus
def test_with_overlap_asked_for_the_turns_come_from_segmentation_and_the_note_says_so() -> None:
    """Two voices that talk at once for seconds (data/speakers/overlap_mf): with overlap the
    words go to both voices, and the note records how its turns were found; a telephone
    recording keeps the window path, whose thresholds were chosen for the band."""
    labelled = LocalWhisperEngine(speakers="auto", speaker_overlap=True)
    try:
        transcript = labelled.transcribe(MediaFile(OVERLAPPING), job())
        by_phone = labelled.transcribe(MediaFile(CONVERSATION_BY_PHONE), job())
    finally:
        labelled.close()

    assert {segment.speaker for segment in transcript.segments} == {1, 2}
    assert transcript.decoding["speaker_turns"] == "overlap"
    assert transcript.decoding["speaker_encoder"] == "campplus"
    assert by_phone.decoding["speaker_turns"] == "windows"
    assert {segment.speaker for segment in by_phone.segments} == {1, 2}
