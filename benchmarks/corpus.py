"""Build a long speech corpus from the bundled samples, with its reference text."""

from __future__ import annotations

import random
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


def build_corpus(folder: Path, files: int, repeats: int, seed: int = 7) -> dict[Path, str]:
    """`files` wav files, each the samples `repeats` times in shuffled order, with 1 s pauses."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = {p: decode(p) for p in SAMPLES}
    texts = {
        p: (REPO / "examples" / "texts" / f"{p.stem}.txt").read_text(encoding="utf-8").strip()
        for p in SAMPLES
    }
    pause = np.zeros(RATE, dtype=np.int16)
    rng = random.Random(seed)
    corpus: dict[Path, str] = {}
    for index in range(files):
        order = [p for _ in range(repeats) for p in rng.sample(SAMPLES, len(SAMPLES))]
        path = folder / f"corpus_{index:02d}.wav"
        write_wav(path, np.concatenate([part for p in order for part in (clips[p], pause)]))
        corpus[path] = " ".join(texts[p] for p in order)
    return corpus


def seconds_of_audio(paths: list[Path]) -> float:
    total = 0.0
    for path in paths:
        with av.open(str(path)) as container:
            total += container.duration / av.time_base
    return total
