"""Audio helpers for the benchmarks: the bundled samples, decoding, writing wav files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from faster_whisper import decode_audio

REPO = Path(__file__).resolve().parents[1]
SAMPLES = sorted((REPO / "examples" / "media").iterdir())
RATE = 16_000


def decode(path: Path) -> np.ndarray:
    """16-bit mono PCM at RATE, via faster-whisper's PyAV decoder."""
    return (decode_audio(str(path), sampling_rate=RATE) * 32767).astype(np.int16)


def write_wav(path: Path, pcm: np.ndarray) -> None:
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def seconds_of_audio(paths: list[Path]) -> float:
    total = 0.0
    for path in paths:
        with av.open(str(path)) as container:
            total += container.duration / av.time_base
    return total
