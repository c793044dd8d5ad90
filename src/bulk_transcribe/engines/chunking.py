"""Make media fit an upload limit: re-encode to compact speech audio, split at silences, stitch.

Written by hand because no maintained library does all three in-process: pydub and
ffmpeg-python shell out to an ffmpeg binary we do not ship, while PyAV (already a
dependency) decodes, resamples and encodes every container we support. Every step
streams, so a three-hour file never sits in memory as raw samples.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import Segment

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper models work at: more is wasted upload
COMPACT_CODEC = "libopus"
COMPACT_SUFFIX = ".ogg"  # Ogg/Opus: accepted by OpenAI, Groq, DEAPI and self-hosted servers
COMPACT_BITRATE = 24_000  # speech stays clear; about 10.5 MB per hour
ENERGY_FRAME_SECONDS = 0.1
SMOOTHING_FRAMES = 3  # a pause between sentences, not the gap inside a word
SEARCH_FRACTION = 0.25  # look for the quietest moment in the last quarter of each chunk
MIN_CHUNK_SECONDS = 5.0
SIZE_MARGIN = 0.9  # Opus is variable bit rate: aim a little under the limit
# Files that are Ogg under another name (RFC 7845: .opus is Ogg Opus): providers take them
# as they are when uploaded as .ogg, so they are never decoded and re-encoded.
OGG_ALIASES = frozenset({".opus", ".oga"})

Tick = Callable[[], None]  # called now and then while encoding; may raise Cancelled


@dataclass(frozen=True)
class AudioChunk:
    """A piece of the original media, ready to upload."""

    path: Path
    offset: float  # seconds into the original where this piece starts
    duration: float | None
    upload_name: str | None = None  # the file name to upload under; None: the path's

    @property
    def name(self) -> str:
        return self.upload_name or self.path.name


@dataclass(frozen=True)
class CompactAudio:
    path: Path
    duration: float
    energy: np.ndarray  # RMS loudness per ENERGY_FRAME_SECONDS, for finding silences


class _OpusWriter:
    """Encodes mono 16-bit samples at SAMPLE_RATE into an Ogg/Opus file."""

    def __init__(self, path: Path):
        self.path = path
        self._container = av.open(str(path), "w", format="ogg")
        self._stream = self._container.add_stream(COMPACT_CODEC, rate=SAMPLE_RATE)
        self._stream.layout = "mono"
        self._stream.bit_rate = COMPACT_BITRATE
        self._stream.codec_context.open()
        self._frame_size = self._stream.codec_context.frame_size
        self._fifo = av.AudioFifo()
        self.samples = 0

    def write(self, samples: np.ndarray) -> None:
        if not samples.size:
            return
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        self._fifo.write(frame)
        self.samples += samples.size
        while self._fifo.samples >= self._frame_size:
            self._encode(self._fifo.read(self._frame_size))

    def close(self) -> None:
        if self._fifo.samples:
            self._encode(self._fifo.read())
        self._encode(None)
        self._container.close()

    def _encode(self, frame: av.AudioFrame | None) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)


def _decoded_samples(source: Path, tick: Tick | None) -> Iterator[np.ndarray]:
    """Mono 16 kHz int16 sample blocks of the first audio track of `source`."""
    try:
        with av.open(str(source), metadata_errors="ignore") as container:
            audio = next((s for s in container.streams if s.type == "audio"), None)
            if audio is None:
                raise PermanentError(ErrorKind.DECODE, f"no audio track in {source.name}")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for index, frame in enumerate(container.decode(audio)):
                if tick is not None and index % 200 == 0:
                    tick()
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
    except av.error.FFmpegError as exc:
        raise PermanentError(
            ErrorKind.DECODE, f"could not decode audio in {source.name}: {exc.strerror or exc}"
        ) from exc


def compact_audio(source: Path, target: Path, tick: Tick | None = None) -> CompactAudio:
    """Re-encode `source` to mono 16 kHz Opus at `target`, measuring loudness on the way."""
    frame_samples = int(SAMPLE_RATE * ENERGY_FRAME_SECONDS)
    writer = _OpusWriter(target)
    energy: list[float] = []
    pending = np.zeros(0, dtype=np.int16)
    try:
        for block in _decoded_samples(source, tick):
            writer.write(block)
            pending = np.concatenate([pending, block])
            whole = len(pending) // frame_samples * frame_samples
            if whole:
                frames = pending[:whole].astype(np.float32).reshape(-1, frame_samples)
                energy.extend(np.sqrt(np.mean(frames * frames, axis=1)).tolist())
                pending = pending[whole:]
    finally:
        writer.close()
    if pending.size:
        tail = pending.astype(np.float32)
        energy.append(float(np.sqrt(np.mean(tail * tail))))
    return CompactAudio(target, writer.samples / SAMPLE_RATE, np.asarray(energy, np.float32))


def find_split_points(
    energy: Sequence[float] | np.ndarray,
    max_chunk_seconds: float,
    frame_seconds: float = ENERGY_FRAME_SECONDS,
) -> list[float]:
    """Cut times (seconds) so that no chunk is longer than `max_chunk_seconds`.

    Each cut falls on the quietest moment in the last quarter of the chunk before it, so
    words are not cut in half; on equal quiet the later moment wins (fewer chunks).
    """
    if max_chunk_seconds < MIN_CHUNK_SECONDS:
        raise ValueError(f"chunks shorter than {MIN_CHUNK_SECONDS} s would lose too much context")
    loudness = np.asarray(energy, dtype=np.float32)
    if len(loudness) >= SMOOTHING_FRAMES:
        kernel = np.ones(SMOOTHING_FRAMES, np.float32) / SMOOTHING_FRAMES
        loudness = np.convolve(loudness, kernel, mode="same")
    total = len(loudness) * frame_seconds
    cuts: list[float] = []
    start = 0.0
    while total - start > max_chunk_seconds:
        first = round((start + max_chunk_seconds * (1 - SEARCH_FRACTION)) / frame_seconds)
        last = int((start + max_chunk_seconds) / frame_seconds)
        window = loudness[first:last]
        quietest = first + (len(window) - 1 - int(np.argmin(window[::-1])))
        cut = round((quietest + 0.5) * frame_seconds, 3)
        cuts.append(cut)
        start = cut
    return cuts


def split_audio(
    source: Path, cuts: Sequence[float], folder: Path, tick: Tick | None = None
) -> list[AudioChunk]:
    """Write `source` as compact chunks cut at `cuts` (seconds) into `folder`."""
    boundaries = [round(c * SAMPLE_RATE) for c in cuts]
    chunks: list[AudioChunk] = []
    stem = source.stem

    def chunk_path(index: int) -> Path:
        # Named after the source: providers and logs show which file a piece belongs to.
        return folder / f"{stem}.part{index:03d}{COMPACT_SUFFIX}"

    writer = _OpusWriter(chunk_path(0))
    chunk_start = position = 0

    def finish(current: _OpusWriter) -> None:
        current.close()
        chunks.append(
            AudioChunk(current.path, chunk_start / SAMPLE_RATE, current.samples / SAMPLE_RATE)
        )

    for block in _decoded_samples(source, tick):
        while boundaries and position + block.size >= boundaries[0]:
            head = boundaries.pop(0) - position
            writer.write(block[:head])
            block, position = block[head:], position + head
            finish(writer)
            chunk_start = position
            writer = _OpusWriter(chunk_path(len(chunks)))
        writer.write(block)
        position += block.size
    finish(writer)
    return [chunk for chunk in chunks if chunk.duration]


def split_at_silences(
    source: Path, max_chunk_seconds: float, folder: Path, tick: Tick | None = None
) -> list[AudioChunk]:
    """Compact chunks of `source`, none longer than `max_chunk_seconds`, cut in pauses."""
    compact = compact_audio(source, folder / f"{source.stem}{COMPACT_SUFFIX}", tick)
    cuts = find_split_points(compact.energy, max_chunk_seconds)
    if not cuts:
        return [AudioChunk(compact.path, 0.0, compact.duration)]
    return split_audio(compact.path, cuts, folder, tick)


def fit_for_upload(
    source: Path,
    max_bytes: int,
    folder: Path,
    *,
    accepted_suffixes: frozenset[str],
    duration: float | None = None,
    tick: Tick | None = None,
) -> list[AudioChunk]:
    """`source` as is when the provider takes it, else compact audio, else compact chunks."""
    name = upload_name(source, accepted_suffixes)
    if name is not None and source.stat().st_size <= max_bytes:
        return [AudioChunk(source, 0.0, duration, upload_name=name)]
    compact = compact_audio(source, folder / f"{source.stem}{COMPACT_SUFFIX}", tick)
    size = compact.path.stat().st_size
    if size <= max_bytes:
        return [AudioChunk(compact.path, 0.0, compact.duration)]
    bytes_per_second = size / max(compact.duration, 1e-6)
    max_chunk_seconds = SIZE_MARGIN * max_bytes / bytes_per_second
    for _ in range(3):  # a chunk over the limit (a loud, busy stretch): cut shorter
        if max_chunk_seconds < MIN_CHUNK_SECONDS:
            break
        cuts = find_split_points(compact.energy, max_chunk_seconds)
        chunks = split_audio(compact.path, cuts, folder, tick)
        if all(chunk.path.stat().st_size <= max_bytes for chunk in chunks):
            log.info(
                "split %s into %d chunks of up to %.0f s",
                source.name,
                len(chunks),
                max_chunk_seconds,
            )
            return chunks
        max_chunk_seconds *= 0.75
    raise PermanentError(
        ErrorKind.UNSUPPORTED,
        f"{source.name} cannot be made to fit the provider's upload limit of "
        f"{max_bytes / 1024**2:.1f} MB; raise the limit (BULK_TRANSCRIBE_UPLOAD_LIMIT_MB)",
    )


def upload_name(source: Path, accepted_suffixes: frozenset[str]) -> str | None:
    """The name under which a provider takes `source` as it is, or None (re-encode it)."""
    suffix = source.suffix.lower()
    if suffix in accepted_suffixes:
        return source.name
    if suffix in OGG_ALIASES and ".ogg" in accepted_suffixes and _is_ogg(source):
        return f"{source.stem}.ogg"
    return None


def _is_ogg(path: Path) -> bool:
    """Reads only the container header: cheap next to decoding the whole file."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return "ogg" in container.format.name.split(",")
    except av.error.FFmpegError:
        return False


def stitch(parts: Sequence[tuple[AudioChunk, Sequence[Segment]]]) -> list[Segment]:
    """Segments of every chunk on the original's timeline, in order."""
    stitched: list[Segment] = []
    for chunk, segments in parts:
        limit = chunk.offset + chunk.duration if chunk.duration else None
        for segment in segments:
            start = chunk.offset + max(0.0, segment.start)
            end = chunk.offset + max(segment.start, segment.end)
            if limit is not None:
                start, end = min(start, limit), min(end, limit)
            stitched.append(Segment(start=round(start, 3), end=round(end, 3), text=segment.text))
    return stitched
