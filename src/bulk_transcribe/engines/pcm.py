"""A recording as 16 kHz mono 16-bit samples, decoded into one array without copies.

faster-whisper's `decode_audio` collects the samples in a growing byte buffer and then makes
a float32 copy: for two hours that is about 0.9 GB at its peak (the buffer's doublings and
both arrays), which alone took a two-hour run past 1.5 GB (benchmarks/long_recording.py).
Here the samples go straight into an int16 array sized from the container's duration (230 MB
for two hours), through the same resampler settings, so the samples are the same; each
section becomes float32 only when it is transcribed (`as_float`).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

RATE = 16_000
GROW_SECONDS = 60  # room added when a container under-reports its duration


@dataclass(frozen=True)
class Pcm16:
    samples: np.ndarray  # mono int16 at RATE
    stored_rate: int | None  # the rate the recording was stored at (its first audio stream)


def decode_pcm16(path: Path) -> Pcm16:
    """The recording's samples and stored rate; raises av.error.FFmpegError for undecodable
    input."""
    from faster_whisper.audio import _group_frames, _ignore_invalid_frames, _resample_frames

    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=RATE)
    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        streams = container.streams.audio
        stored_rate = (streams[0].sample_rate or None) if streams else None
        seconds = container.duration / av.time_base if container.duration else GROW_SECONDS
        samples = np.empty(int(seconds * RATE) + RATE, dtype=np.int16)
        filled = 0
        frames = _ignore_invalid_frames(container.decode(audio=0))
        # The same grouping and resampling as faster-whisper's decode_audio.
        for frame in _resample_frames(_group_frames(frames, 500000), resampler):
            array = frame.to_ndarray().reshape(-1)
            if filled + len(array) > len(samples):
                extra = max(len(array), GROW_SECONDS * RATE)
                samples = np.concatenate([samples[:filled], np.empty(extra, np.int16)])
            samples[filled : filled + len(array)] = array
            filled += len(array)
    del resampler
    gc.collect()  # PyAV's resampler objects are freed only by a collection (faster-whisper #390)
    return Pcm16(samples[:filled], stored_rate)


def as_float(samples: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1), as faster-whisper's decode_audio returns; samples that are float
    already are returned as they are (the speaker models take a slice of either)."""
    if np.issubdtype(samples.dtype, np.floating):
        return samples
    return samples.astype(np.float32) / 32768.0
