"""Regenerate the bundled sample clips from texts/ (needs Debian's espeak-ng; PyAV encodes).

The clips are committed, so nobody needs to run this unless the texts change:

    python examples/make_samples.py
"""

from __future__ import annotations

import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
TEXTS = HERE / "texts"
MEDIA = HERE / "media"
SAMPLE_RATE = 16_000

# One container per clip, so the demo exercises every decoder path users hit.
PLAN = [
    ("01_solar_panels", "wav", "en-us"),
    ("02_library_visit", "mp3", "en-gb"),
    ("03_coffee_recipe", "m4a", "en-us"),
    ("04_weather_report", "ogg", "en-gb"),
    ("05_garden_tips", "flac", "en-us"),
    ("06_train_station", "mp4", "en-gb"),
]

CODECS = {"mp3": ("mp3", "libmp3lame"), "m4a": ("mp4", "aac"), "ogg": ("ogg", "libopus"),
          "flac": ("flac", "flac"), "mp4": ("mp4", "aac")}


def speak(text: str, voice: str) -> np.ndarray:
    """Synthesize with espeak-ng and return mono float32 samples at SAMPLE_RATE."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
        with av.open(str(wav)) as container:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(audio=0)
                for out in resampler.resample(frame)
            ]
    return np.concatenate(chunks)


def encode(samples: np.ndarray, path: Path, ext: str) -> None:
    if ext == "wav":
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        with av.open(str(path), "w", format="wav") as out:
            stream = out.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="mono")
            _write_audio(out, stream, pcm.reshape(1, -1), "s16")
        return
    fmt, codec = CODECS[ext]
    rate = 48_000 if codec == "libopus" else SAMPLE_RATE
    with av.open(str(path), "w", format=fmt) as out:
        # Every stream must exist before the first packet is muxed.
        video = _add_video_stream(out) if ext == "mp4" else None
        stream = out.add_stream(codec, rate=rate, layout="mono")
        if video is not None:
            _write_colour_card(out, video, seconds=len(samples) / SAMPLE_RATE)
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for converted in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _write_audio(out: av.container.OutputContainer, stream, data: np.ndarray, fmt: str) -> None:
    frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
    frame.sample_rate = SAMPLE_RATE
    for packet in stream.encode(frame):
        out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


VIDEO_FPS = 2


def _add_video_stream(out: av.container.OutputContainer) -> av.VideoStream:
    video = out.add_stream("mpeg4", rate=VIDEO_FPS)
    video.width, video.height, video.pix_fmt = 160, 90, "yuv420p"
    video.time_base = Fraction(1, VIDEO_FPS)
    return video


def _write_colour_card(out: av.container.OutputContainer, video, seconds: float) -> None:
    """A tiny slowly changing colour card, so the file is a real video."""
    for index in range(int(seconds * VIDEO_FPS) + 1):
        rgb = np.zeros((90, 160, 3), dtype=np.uint8)
        rgb[:, :, index % 3] = 180
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = index
        for packet in video.encode(frame):
            out.mux(packet)
    for packet in video.encode(None):
        out.mux(packet)


def main() -> None:
    MEDIA.mkdir(exist_ok=True)
    lines = ["# The bundled sample media; `make demo` transcribes these offline."]
    for stem, ext, voice in PLAN:
        text = (TEXTS / f"{stem}.txt").read_text(encoding="utf-8").strip()
        path = MEDIA / f"{stem}.{ext}"
        encode(speak(text, voice), path, ext)
        lines.append(f"media/{path.name}")
        print(f"wrote {path.relative_to(HERE)} ({path.stat().st_size // 1024} KiB)")
    (HERE / "sample_batch.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
