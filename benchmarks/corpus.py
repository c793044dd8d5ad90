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


def write_audio(
    path: Path,
    pcm: np.ndarray,
    *,
    container: str = "wav",
    codec: str = "pcm_s16le",
    rate: int = RATE,
    bit_rate: int | None = None,
) -> None:
    """16-bit mono PCM encoded with PyAV into one file."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def as_pcm(audio: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as 16-bit PCM."""
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16)


def write_wav(path: Path, pcm: np.ndarray) -> None:
    write_audio(path, pcm)


def seconds_of_audio(paths: list[Path]) -> float:
    total = 0.0
    for path in paths:
        with av.open(str(path)) as container:
            total += container.duration / av.time_base
    return total
