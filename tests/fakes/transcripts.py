"""What the fake providers "hear": the known text of a sample, spread over its real duration."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from faster_whisper import decode_audio

TEXTS_DIR = Path(__file__).resolve().parents[2] / "examples" / "texts"
_CHUNK_SUFFIX = re.compile(r"\.part\d+$")


@dataclass(frozen=True)
class FakeTranscription:
    segments: list[tuple[float, float, str]]
    duration: float
    language: str = "english"

    @property
    def text(self) -> str:
        return " ".join(text for _, _, text in self.segments)


Transcriber = Callable[[str, bytes], FakeTranscription]


def audio_duration(content: bytes) -> float:
    """Seconds of audio in an uploaded file, measured with PyAV like a real server would."""
    with av.open(io.BytesIO(content)) as container:
        audio = container.streams.audio[0]
        if audio.duration is not None and audio.time_base is not None:
            return float(audio.duration * audio.time_base)
        if container.duration is not None:
            return container.duration / av.time_base
        end = 0.0
        for packet in container.demux(audio):
            if packet.pts is not None and packet.duration and packet.time_base:
                end = max(end, float((packet.pts + packet.duration) * packet.time_base))
        return end


def decode_mono(path: Path, rate: int = 16_000) -> np.ndarray:
    """Float samples of a media file, mono at `rate`: for building longer test recordings."""
    return decode_audio(str(path), sampling_rate=rate)


def known_text(filename: str) -> str:
    """The sample's reference text for uploads named after a sample, else a stand-in."""
    stem = _CHUNK_SUFFIX.sub("", Path(filename).stem)
    reference = TEXTS_DIR / f"{stem}.txt"
    if reference.exists():
        return reference.read_text(encoding="utf-8").strip()
    return f"This is the transcript of {stem}."


def sample_transcriber(filename: str, content: bytes) -> FakeTranscription:
    """Sentences of the known text, timed in proportion to their length over the real duration."""
    duration = audio_duration(content)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", known_text(filename)) if s]
    total = sum(len(s) for s in sentences) or 1
    segments, start = [], 0.0
    for sentence in sentences:
        end = start + duration * len(sentence) / total
        segments.append((round(start, 3), round(end, 3), sentence))
        start = end
    return FakeTranscription(segments, duration)
