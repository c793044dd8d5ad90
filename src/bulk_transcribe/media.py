"""Inspect media files with PyAV: is there audio, how long is it, does it decode."""

from __future__ import annotations

import stat
from pathlib import Path

import av

from bulk_transcribe import truncation
from bulk_transcribe.errors import ErrorKind, PermanentError, TruncatedMedia

# What a local file or a link is named like when it holds audio or video.
MEDIA_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".oga", ".flac", ".webm", ".mp4",
        ".m4v", ".mkv", ".mov", ".avi", ".wma", ".aiff", ".aif", ".amr", ".3gp",
        # Audiobooks, camcorder and broadcast recordings, older video and audio formats:
        # a folder of them was "no media files". (Not .ts: TypeScript shares it.)
        ".m4b", ".mka", ".weba", ".mpga", ".mp2", ".mpg", ".mpeg", ".mts", ".m2ts", ".vob",
        ".wmv", ".asf", ".flv", ".ogv", ".3g2", ".caf", ".aifc", ".au", ".spx", ".ac3",
        ".wv",
    }
)  # fmt: skip

# Below this many bits per second of file, a header's duration cannot be true: even speech
# codecs need several kbit/s. A truncated FLAC still claims its full length in its header.
MIN_PLAUSIBLE_BITRATE = 2_000
CHECK_SECONDS = 1.0  # decoded from the start to tell media from garbage that opens as media


def probe_duration(path: Path) -> float:
    """Seconds of audio in `path`, read from the container header (no full decode).

    Raises PermanentError(DECODE) for files PyAV cannot open or that carry no audio.
    """
    require_regular_file(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            audio = next((s for s in container.streams if s.type == "audio"), None)
            if audio is None:
                raise PermanentError(
                    ErrorKind.DECODE,
                    f"no audio track in {path.name}: a video without sound has nothing to "
                    "transcribe",
                )
            claimed = _header_duration(container, audio)
            if claimed is not None and _plausible(path, claimed):
                return claimed
            return _duration_by_demuxing(container, audio)
    except av.error.FFmpegError as exc:
        raise PermanentError(
            ErrorKind.DECODE, f"could not decode audio in {path.name}: {exc.strerror or exc}"
        ) from exc


def check_decodes(path: Path, seconds: float = CHECK_SECONDS) -> None:
    """Decode the first `seconds` of audio; PermanentError(DECODE) when that fails."""
    _decode_start(path, seconds)


def checked_duration(path: Path, seconds: float = CHECK_SECONDS) -> float:
    """`check_decodes` then `probe_duration`, opening the file once: a download is checked
    and measured on one open of its container (each open reads and parses its header again).

    TruncatedMedia when the file clearly holds less than its header declares (truncation.py).
    """
    claimed = _decode_start(path, seconds, whole=True)
    if claimed is not None and _plausible(path, claimed):
        return claimed
    return probe_duration(path)  # no header to trust: its packets are walked from the start


def _decode_start(path: Path, seconds: float, *, whole: bool = False) -> float | None:
    """Decode the first `seconds` of audio (PermanentError(DECODE) when that fails); the
    duration the container's header claims, read before decoding moves on, if any.
    `whole`: also check that the file holds what it declares (TruncatedMedia)."""
    require_regular_file(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            audio = next((s for s in container.streams if s.type == "audio"), None)
            if audio is None:
                raise PermanentError(ErrorKind.DECODE, f"no audio track in {path.name}")
            claimed = _header_duration(container, audio)
            decoded = 0.0
            for frame in container.decode(audio):
                decoded += frame.samples / (frame.sample_rate or 1)
                if decoded >= seconds:
                    break
            if decoded == 0:
                raise PermanentError(ErrorKind.DECODE, f"no audio could be decoded in {path.name}")
            cut = truncation.shortfall(path, container, audio, claimed) if whole else None
    except av.error.FFmpegError as exc:
        raise PermanentError(
            ErrorKind.DECODE, f"could not decode audio in {path.name}: {exc.strerror or exc}"
        ) from exc
    if cut is not None:
        raise TruncatedMedia(path.name, cut.size, cut.held, cut.declared)
    return claimed


def require_regular_file(path: Path) -> None:
    """A named pipe or a device would block or never end; say what it is instead."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise PermanentError(
            ErrorKind.NOT_FOUND, f"file not found: {path} (moved or deleted since it was added?)"
        ) from exc
    except OSError as exc:
        raise PermanentError(
            ErrorKind.NOT_FOUND, f"cannot read {path}: {exc.strerror or exc}"
        ) from exc
    if not stat.S_ISREG(mode):
        raise PermanentError(
            ErrorKind.UNSUPPORTED,
            f"{path} is {describe_file_type(mode)}, not a media file: give the path of a "
            "recording, not of a pipe or device",
        )


def describe_file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _header_duration(container: av.container.InputContainer, audio: av.AudioStream) -> float | None:
    if audio.duration is not None and audio.time_base is not None:
        return float(audio.duration * audio.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _plausible(path: Path, seconds: float) -> bool:
    if seconds <= 0:
        return False
    return path.stat().st_size * 8 / seconds >= MIN_PLAUSIBLE_BITRATE


def _duration_by_demuxing(container: av.container.InputContainer, audio: av.AudioStream) -> float:
    """Some streams (raw ADTS, some webm) carry no duration, and truncated files claim one they
    do not have: walk the packets instead."""
    end = 0.0
    for packet in container.demux(audio):
        if packet.pts is not None and packet.duration is not None and packet.time_base:
            end = max(end, float((packet.pts + packet.duration) * packet.time_base))
    return end
