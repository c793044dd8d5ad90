"""One batched inference service per model: 30-second windows from several items share batches.

faster-whisper's BatchedInferencePipeline batches the windows of one file, so a 12-second
voice memo fills one slot of a batch of 8 and the other seven go unused. Here every item's
pipeline hands its windows to a shared service instead (the idea of WhisperS2T), which
forms each model batch from whatever windows are waiting, oldest item first, so short items
fill batches together. Each item still decodes, runs VAD and computes features in its own
thread, in parallel with the model, and gets its own results back in its own order.

That pays on a GPU. On the CPU the encoder costs the same batched or not, and its cost grows
faster than a window's length, so each window is encoded only as long as it is
(frames_to_encode), and a batch takes only windows of the same length (`same_length`). What
batching saves there is decoding: every step of it reads the model's weights (the 20 MB
vocabulary projection among them) once for the whole batch; with four windows of 30 s in a
batch, decoding took a third less time and gave the same tokens. A worker per core, each
taking its share of the waiting windows, keeps every core busy (settings.py).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Called in the item's own thread with how far (seconds into the item) its windows are done.
WindowsDone = Callable[[float], None]

# Whisper's features come padded to 30 s, but CTranslate2's encoder takes shorter input, and
# its cost grows faster than the length (attention): a 20 s window costs 0.22 s against 0.50 s
# padded (tiny.en int8, one thread). So a batch is cut to its longest window's speech plus
# this much of the padding. Measured on 37 cuts of 10-30 s of the real recordings (true
# references): WER 6.0 % against 6.3 % padded, in 59 % of the time; on the whole recordings
# the same WER. With less padding left (2, 1, 0.5 s) WER rose 0.2-0.5 points there.
PADDING_KEPT_SECONDS = 3.0
# But never fewer than this many seconds: cut to 4-8 s, a short clip's window lost its end of
# text and the decoder said the clip again, or looped ("47 degrees 47 degrees ..." for a 3 s
# utterance). On the dev half (85 files, 49 Common Voice clips of 1-10 s): WER 6.09 % with no
# floor, 5.84 % at 8 s, 5.37 % at 10, 5.33 % at 12, 5.41 % at 15, 5.84 % padded to 30.
MIN_ENCODED_SECONDS = 12
FRAMES_PER_SECOND = 100  # Whisper's feature frames (10 ms hop)


def frames_to_encode(metadata: Sequence[dict[str, Any]], padded_frames: int) -> int:
    """How many feature frames of a batch to encode: whole seconds, never past the padding."""
    longest = max(window["duration"] for window in metadata)
    seconds = max(math.ceil(longest + PADDING_KEPT_SECONDS), MIN_ENCODED_SECONDS)
    return min(padded_frames, seconds * FRAMES_PER_SECOND)


# The options generate() and forward() read; per-item ones (clip_timestamps) are left out.
_DECODING_OPTIONS = (
    "beam_size",
    "patience",
    "length_penalty",
    "max_new_tokens",
    "suppress_blank",
    "repetition_penalty",
    "no_repeat_ngram_size",
    "initial_prompt",
    "without_timestamps",
    "hotwords",
    "multilingual",
    "word_timestamps",
    "prepend_punctuations",
    "append_punctuations",
)


@dataclass(eq=False)
class _Request:
    """The windows of one forward() call of one item, and what became of them."""

    features: np.ndarray
    metadata: list[dict[str, Any]]
    tokenizer: Any
    options: Any
    key: tuple[Any, ...]
    results: list[Any] = field(default_factory=list)
    done: list[bool] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)  # windows handed to a batch so far
    done_windows: int = 0
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.error is not None or self.done_windows == len(self.metadata)

    def untaken(self) -> list[int]:
        """Its windows no batch has taken yet, in order."""
        return [index for index in range(len(self.metadata)) if index not in self.taken]

    def frames(self, index: int) -> int:
        """How many feature frames window `index` is encoded with (frames_to_encode)."""
        return frames_to_encode([self.metadata[index]], self.features.shape[-1])

    def done_prefix(self) -> int:
        """How many windows from the start are done (workers may finish out of order)."""
        return next((n for n, flag in enumerate(self.done) if not flag), len(self.done))


def batch_key(tokenizer: Any, options: Any) -> tuple[Any, ...]:
    """Windows can share a model batch only when they are decoded the same way."""
    values = tuple(getattr(options, name, None) for name in _DECODING_OPTIONS)
    lists = (tuple(options.suppress_tokens or ()), tuple(options.temperatures or ()))
    return (tokenizer.language_code, tokenizer.task, *values, *lists)


class WindowBatcher:
    """Runs `forward(features, tokenizer, metadata, options)` on batches mixed across callers.

    `forward` is BatchedInferencePipeline.forward of one pipeline that only this service's
    worker threads use. Callers block in `submit` until their own windows are done. With
    `same_length`, a batch holds only windows encoded at the same length (the CPU's choice:
    no window is encoded longer than it is); otherwise a batch is encoded as long as its
    longest window.
    """

    def __init__(
        self,
        forward: Callable[[np.ndarray, Any, list[dict[str, Any]], Any], list[Any]],
        batch_size: int,
        workers: int = 1,
        *,
        same_length: bool = False,
    ) -> None:
        self._forward = forward
        self._batch_size = max(1, batch_size)
        self._same_length = same_length
        self._pending: deque[_Request] = deque()
        self._condition = threading.Condition()
        self._closed = False
        self._busy = 0  # workers running a batch now
        self._threads = [
            threading.Thread(target=self._serve, name=f"whisper-batches-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(
        self,
        features: np.ndarray,
        tokenizer: Any,
        metadata: Sequence[dict[str, Any]],
        options: Any,
        on_windows_done: WindowsDone | None = None,
    ) -> list[Any]:
        """The forward() results for these windows, in their order, computed in shared batches.

        `on_windows_done` runs in the caller's thread; if it raises (a cancelled item), the
        windows not yet started are withdrawn and the exception propagates.
        """
        request = _Request(
            features, list(metadata), tokenizer, options, batch_key(tokenizer, options)
        )
        if not request.metadata:
            return []
        request.results = [None] * len(request.metadata)
        request.done = [False] * len(request.metadata)
        with self._condition:
            if self._closed:
                raise RuntimeError("the speech model was closed")
            self._pending.append(request)
            self._condition.notify_all()
        seen = 0
        try:
            while True:
                with self._condition:
                    while not request.finished and request.done_windows == seen:
                        self._condition.wait()
                    seen, prefix = request.done_windows, request.done_prefix()
                if request.error is not None:
                    raise request.error
                if on_windows_done is not None and prefix:
                    last = request.metadata[prefix - 1]
                    on_windows_done(last["offset"] + last["duration"])
                if request.finished:
                    return request.results
        except BaseException:
            with self._condition:  # withdraw what no batch has taken yet
                if request in self._pending:
                    self._pending.remove(request)
            raise

    def waiting_windows(self) -> int:
        """Windows submitted and not yet taken into a batch."""
        with self._condition:
            return sum(len(r.metadata) - len(r.taken) for r in self._pending)

    def close(self) -> None:
        """Stop the workers once the batches in progress are done; queued callers get an error."""
        with self._condition:
            self._closed = True
            for request in self._pending:
                request.error = RuntimeError("the speech model was closed")
            self._pending.clear()
            self._condition.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=60)

    def _next_batch(self) -> list[tuple[_Request, int]] | None:
        """Windows like the oldest waiting one (decoded the same way; with `same_length`
        also as long), oldest first: up to batch_size, and no more than this worker's share
        of them while other workers are idle (an idle worker is a core doing nothing)."""
        with self._condition:
            while not self._pending and not self._closed:
                self._condition.wait()
            if self._closed:
                return None
            oldest = self._pending[0]
            length = oldest.frames(oldest.untaken()[0]) if self._same_length else None
            alike = [
                (request, index)
                for request in self._pending
                if request.key == oldest.key
                for index in request.untaken()
                if length is None or request.frames(index) == length
            ]
            idle = len(self._threads) - self._busy  # this worker among them
            limit = min(self._batch_size, -(-len(alike) // idle))
            batch = alike[:limit]
            for request, index in batch:
                request.taken.add(index)
            for request in dict.fromkeys(request for request, _ in batch):
                if len(request.taken) == len(request.metadata):
                    self._pending.remove(request)  # all its windows are taken
            self._busy += 1
            return batch

    def _serve(self) -> None:
        while (batch := self._next_batch()) is not None:
            first_request = batch[0][0]
            metadata = [request.metadata[index] for request, index in batch]
            frames = frames_to_encode(metadata, first_request.features.shape[-1])
            features = np.stack([request.features[index][..., :frames] for request, index in batch])
            try:
                results = self._forward(
                    features, first_request.tokenizer, metadata, first_request.options
                )
            except Exception as exc:  # the callers re-raise it in their own threads
                log.exception("batched inference failed")
                with self._condition:
                    self._busy -= 1
                    for request, _ in batch:
                        request.error = exc
                    self._condition.notify_all()
                continue
            with self._condition:
                self._busy -= 1
                for (request, index), result in zip(batch, results, strict=True):
                    request.results[index] = result
                    request.done[index] = True
                    request.done_windows += 1
                self._condition.notify_all()
