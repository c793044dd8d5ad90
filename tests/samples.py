"""The bundled samples, their source texts, and a word error rate that forgives formatting."""

from __future__ import annotations

import re
from pathlib import Path

import jiwer
import numpy as np

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SAMPLE_MEDIA = sorted((EXAMPLES / "media").iterdir())

_NUMBERS = {
    "4": "four",
    "10": "ten",
    "20": "twenty",
    "3": "three",
    "1": "one",
    "2": "two",
}


def normalise_words(text: str) -> str:
    words = re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split()
    return " ".join(_NUMBERS.get(w, w) for w in words)


def word_error_rate(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalise_words(reference), normalise_words(hypothesis))


def reference_text(media: Path) -> str:
    return (EXAMPLES / "texts" / f"{media.stem}.txt").read_text(encoding="utf-8")


def write_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    import av

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").reshape(1, -1)
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path
