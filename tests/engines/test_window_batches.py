"""The shared batching service: windows of several items share model batches, results do not mix."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bulk_transcribe.engines import EngineJob
from bulk_transcribe.engines.local_whisper import (
    ALL_WINDOWS,
    EncodeEachWindow,
    LocalWhisperEngine,
    load_model,
)
from bulk_transcribe.engines.window_batches import (
    MIN_ENCODED_SECONDS,
    PADDING_KEPT_SECONDS,
    WindowBatcher,
    frames_to_encode,
)
from bulk_transcribe.errors import Cancelled
from bulk_transcribe.models import MediaFile, TranscribeOptions
from tests.samples import (
    SAMPLE_MEDIA,
    normalise_words,
    reference_text,
    word_error_rate,
    write_wav,
)


@pytest.fixture(scope="module")
def model():  # -> WhisperModel
    return load_model("tiny.en", 2, 1)


class GatedForward:
    """The real forward pass, recording each batch; the first batch waits for `release`."""

    def __init__(self, model) -> None:
        from faster_whisper import BatchedInferencePipeline

        self._forward = BatchedInferencePipeline(model).forward
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[list[float]] = []  # the window offsets of each batch
        self.widths: list[int] = []  # the feature frames each batch was encoded with
        self.fail_next = False
        self.steps: threading.Semaphore | None = None  # when set, every batch waits for one

    def __call__(self, features, tokenizer, metadata, options) -> list[Any]:
        if self.steps is not None:
            assert self.steps.acquire(timeout=60)
        elif not self.batches:
            self.entered.set()
            self.release.wait(timeout=60)
        self.batches.append([window["offset"] for window in metadata])
        self.widths.append(features.shape[-1])
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("out of memory in the model")
        return self._forward(features, tokenizer, metadata, options)


def transcribe_via(
    batcher: WindowBatcher, model, media: Path, on_done: Callable[[float], None] | None = None
) -> str:
    """One item's pipeline with its windows routed to the service, as the engine does."""
    from faster_whisper import BatchedInferencePipeline

    pipeline = BatchedInferencePipeline(model)
    pipeline.forward = lambda f, t, m, o: batcher.submit(f, t, m, o, on_done)
    segments, _info = pipeline.transcribe(str(media), batch_size=ALL_WINDOWS, beam_size=2)
    return " ".join(segment.text.strip() for segment in segments)


def wait_for_windows(batcher: WindowBatcher, count: int) -> None:
    for _ in range(600):
        if batcher.waiting_windows() >= count:
            return
        threading.Event().wait(0.1)
    raise AssertionError(f"fewer than {count} windows ever waited")


def in_threads(*calls: Callable[[], Any]) -> tuple[list[Any], list[threading.Thread]]:
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            results[index] = call()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    return results, threads


def test_windows_waiting_from_several_items_go_into_one_batch(model) -> None:
    forward = GatedForward(model)
    batcher = WindowBatcher(forward, batch_size=8)
    first, *others = SAMPLE_MEDIA[:4]  # each sample is one window (under 30 s)
    first_result, first_thread = in_threads(lambda: transcribe_via(batcher, model, first))
    # The first item's batch holds the model; the others' windows queue up meanwhile.
    assert forward.entered.wait(timeout=120)
    results, threads = in_threads(
        *[lambda media=media: transcribe_via(batcher, model, media) for media in others]
    )
    wait_for_windows(batcher, len(others))
    forward.release.set()
    for thread in [*first_thread, *threads]:
        thread.join(timeout=120)
    batcher.close()

    assert [len(batch) for batch in forward.batches] == [1, len(others)]
    for media, text in zip(SAMPLE_MEDIA[:4], first_result + results, strict=True):
        assert isinstance(text, str), text
        assert word_error_rate(reference_text(media), text) <= 0.25, media.name


def test_a_cancelled_item_withdraws_its_waiting_windows_and_the_others_finish(
    model, tmp_path: Path
) -> None:
    from faster_whisper import decode_audio

    # All the samples in one file: several 30-second windows.
    long_item = write_wav(
        tmp_path / "long.wav", np.concatenate([decode_audio(str(m)) for m in SAMPLE_MEDIA])
    )
    forward = GatedForward(model)
    forward.steps = threading.Semaphore(0)
    batcher = WindowBatcher(forward, batch_size=1)  # one window per batch: the rest wait

    def cancel(_seconds: float) -> None:
        raise Cancelled()

    cancelled, cancelled_thread = in_threads(
        lambda: transcribe_via(batcher, model, long_item, on_done=cancel)
    )
    wait_for_windows(batcher, 2)  # its first window is in the model, at least two wait
    other, other_thread = in_threads(lambda: transcribe_via(batcher, model, SAMPLE_MEDIA[1]))
    wait_for_windows(batcher, 3)
    forward.steps.release()  # the long item's first window; its progress callback cancels
    cancelled_thread[0].join(timeout=120)
    forward.steps.release(100)
    other_thread[0].join(timeout=120)
    batcher.close()

    assert isinstance(cancelled[0], Cancelled)
    # Its first window ran, perhaps a second already taken; no later one did.
    assert len(forward.batches) <= 3
    assert word_error_rate(reference_text(SAMPLE_MEDIA[1]), other[0]) <= 0.25
    assert batcher.waiting_windows() == 0


def test_a_failed_batch_fails_its_items_and_the_service_goes_on(model) -> None:
    forward = GatedForward(model)
    forward.release.set()
    forward.fail_next = True
    batcher = WindowBatcher(forward, batch_size=8)

    with pytest.raises(RuntimeError, match="out of memory"):
        transcribe_via(batcher, model, SAMPLE_MEDIA[2])
    text = transcribe_via(batcher, model, SAMPLE_MEDIA[2])
    batcher.close()

    assert word_error_rate(reference_text(SAMPLE_MEDIA[2]), text) <= 0.25


def test_after_close_new_work_is_refused_with_a_clear_error(model) -> None:
    forward = GatedForward(model)
    forward.release.set()
    batcher = WindowBatcher(forward, batch_size=8)
    batcher.close()

    with pytest.raises(RuntimeError, match="closed"):
        transcribe_via(batcher, model, SAMPLE_MEDIA[0])


def test_windows_decoded_differently_never_share_a_batch(model) -> None:
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import TranscriptionOptions

    from bulk_transcribe.engines.window_batches import batch_key

    def options(beam: int, speech_starts_at: float = 0.0) -> TranscriptionOptions:
        fields = TranscriptionOptions.__dataclass_fields__
        values: dict[str, Any] = dict.fromkeys(fields)
        values |= {"beam_size": beam, "suppress_tokens": [-1], "temperatures": [0.0]}
        values["clip_timestamps"] = [{"start": speech_starts_at, "end": 30.0}]
        return TranscriptionOptions(**values)

    english = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    # Where each item's speech lies is its own business; how it is decoded is shared.
    assert batch_key(english, options(2)) == batch_key(english, options(2, 4.5))
    assert batch_key(english, options(2)) != batch_key(english, options(3))


def test_idle_workers_share_the_waiting_windows_instead_of_one_taking_them_all() -> None:
    """Five windows and two idle workers make batches of 3 and 2 running at once, not one
    batch of 5 and an idle worker (on the CPU: an idle core)."""
    from types import SimpleNamespace

    both_running = threading.Barrier(2, timeout=60)
    sizes: list[int] = []

    def forward(features, tokenizer, metadata, options) -> list[Any]:
        sizes.append(len(metadata))
        both_running.wait()  # broken (an error) unless the second worker has a batch too
        return [window["offset"] for window in metadata]

    batcher = WindowBatcher(forward, batch_size=8, workers=2)
    tokenizer = SimpleNamespace(language_code="en", task="transcribe")
    options = SimpleNamespace(suppress_tokens=[-1], temperatures=[0.0])
    windows = [{"offset": 30.0 * n, "duration": 30.0} for n in range(5)]

    results = batcher.submit(np.zeros((5, 80, 3000)), tokenizer, windows, options)
    batcher.close()

    assert sorted(sizes) == [2, 3]
    assert results == [0.0, 30.0, 60.0, 90.0, 120.0]  # each window's result in its place


def test_a_batch_is_encoded_as_long_as_its_longest_window_and_a_little_padding() -> None:
    windows = [{"offset": 0.0, "duration": 12.4}, {"offset": 30.0, "duration": 7.0}]
    assert frames_to_encode(windows, 3000) == (13 + PADDING_KEPT_SECONDS) * 100
    assert frames_to_encode([{"offset": 0.0, "duration": 29.5}], 3000) == 3000  # never past it


def test_a_short_window_is_encoded_no_shorter_than_the_floor() -> None:
    assert frames_to_encode([{"offset": 0.0, "duration": 2.5}], 3000) == MIN_ENCODED_SECONDS * 100


def test_a_three_second_clip_is_said_once_not_looped(tmp_path: Path) -> None:
    """Encoded as 6 s (its speech and 3 s of padding), this clip's window lost its end of
    text: "Solar panel's turn, turn, turn, turn, turn, turn, turn, turn, turn!"."""
    from faster_whisper import decode_audio

    clip = write_wav(tmp_path / "three_seconds.wav", decode_audio(str(SAMPLE_MEDIA[0]))[:48_000])
    engine = LocalWhisperEngine()
    job = EngineJob(
        options=TranscribeOptions(language="en", word_times=False), on_progress=lambda _: None
    )
    try:
        text = engine.transcribe(MediaFile(clip), job).text
    finally:
        engine.close()
    words = normalise_words(text).split()
    assert words and max(words.count(word) for word in words) <= 2, text


def test_short_windows_are_encoded_without_most_of_their_padding_and_read_the_same(model) -> None:
    forward = GatedForward(model)
    forward.release.set()
    batcher = WindowBatcher(forward, batch_size=8)
    media = min(SAMPLE_MEDIA, key=lambda m: m.stat().st_size)  # the shortest sample
    text = transcribe_via(batcher, model, media)
    batcher.close()

    assert len(forward.widths) == 1 and forward.widths[0] < 3000
    assert word_error_rate(reference_text(media), text) <= 0.25


def test_on_the_cpu_a_batch_holds_windows_of_one_length_only() -> None:
    from types import SimpleNamespace

    batches: list[tuple[list[float], int]] = []

    def forward(features, tokenizer, metadata, options) -> list[Any]:
        batches.append(([window["offset"] for window in metadata], features.shape[-1]))
        return [window["offset"] for window in metadata]

    batcher = WindowBatcher(forward, batch_size=4, workers=1, same_length=True)
    tokenizer = SimpleNamespace(language_code="en", task="transcribe")
    options = SimpleNamespace(suppress_tokens=[-1], temperatures=[0.0])
    durations = [29.0, 12.0, 28.5, 12.2, 29.9, 27.1]  # encoded at 30, 15, 30, 16, 30, 30 s
    windows = [{"offset": 30.0 * n, "duration": d} for n, d in enumerate(durations)]

    results = batcher.submit(np.zeros((6, 80, 3000)), tokenizer, windows, options)
    batcher.close()

    assert batches == [([0.0, 60.0, 120.0, 150.0], 3000), ([30.0], 1500), ([90.0], 1600)]
    assert results == [window["offset"] for window in windows]  # each in its place


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples read one after another, twice: about 2.5 minutes, mostly full windows."""
    from faster_whisper import decode_audio

    pause = np.zeros(4_000, dtype=np.float32)
    parts = [part for media in SAMPLE_MEDIA for part in (decode_audio(str(media)), pause)]
    path = tmp_path_factory.mktemp("long") / "long.wav"
    return write_wav(path, np.concatenate(parts * 2))


def test_windows_decoded_together_read_exactly_as_decoded_one_by_one(
    model, long_recording: Path
) -> None:
    together = GatedForward(EncodeEachWindow(model))
    together.release.set()
    one_by_one = GatedForward(model)
    one_by_one.release.set()
    batched = WindowBatcher(together, batch_size=4, same_length=True)
    single = WindowBatcher(one_by_one, batch_size=1)

    text_together = transcribe_via(batched, model, long_recording)
    text_one_by_one = transcribe_via(single, model, long_recording)
    batched.close()
    single.close()

    assert max(len(batch) for batch in together.batches) > 1, together.batches
    assert len(together.batches) < len(one_by_one.batches)
    assert text_together == text_one_by_one
    assert len(text_together.split()) > 300
