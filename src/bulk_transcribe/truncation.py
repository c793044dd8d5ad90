"""Whether a media file holds all the audio its own header declares: a download cut short.

A server that announces a shorter Content-Length than its file (or closes early in a way
HTTP accepts) leaves a file that opens and decodes, but is shorter than it says. Each check
reads only headers, the file's last bytes or one seek near its end: it runs on every link.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import av

# Missing less than this is not called a cut: headers estimate, and codecs pad their ends.
TOLERATED_SECONDS = 0.5
TOLERATED_FRACTION = 0.02
# Packets read after the seek near the declared end (a few seconds of any codec's frames).
MAX_END_PACKETS = 2_000
SEEK_BEFORE_END = 3.0  # seconds before the declared end the seek lands
_STREAMED_WAV_SIZES = (0, 0xFFFFFFFF)  # a WAV written to a pipe never learned its size
# Containers whose header states the audio's length (FLAC's STREAMINFO, MP4's moov, the
# Matroska segment's duration). Others (raw AAC, and MP3 without a VBR header below) have
# theirs estimated from the bit rate: a seek would find their end elsewhere, whole or not.
_DECLARING_FORMATS = frozenset({"flac", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"})
_MP3_LENGTH_TAGS = (b"Xing", b"Info", b"VBRI")  # in the first frame: frames and bytes counted
_MP3_TAG_SEARCH = 4096  # bytes after the ID3 tag searched for one
_OGG_PAGE_MAX = 65_307  # an Ogg page's header, segment table and body at their largest


@dataclass(frozen=True)
class Shortfall:
    """How much of a file is there: `declared` is None when the format declares no length
    (an Ogg stream cut in the middle of a page)."""

    size: int  # bytes in the file
    held: float  # seconds of audio the file holds
    declared: float | None  # seconds its header declares


def shortfall(
    path: Path,
    container: av.container.InputContainer,
    audio: av.AudioStream,
    declared: float | None,
) -> Shortfall | None:
    """The file's shortfall when it clearly holds less than it declares, else None.

    `declared` is the duration the container's header claims (PyAV's); `container` is open
    and may be moved (a seek)."""
    size = path.stat().st_size
    name = container.format.name
    if name == "wav":
        return _wav_shortfall(path, size)
    if name == "ogg":
        return _ogg_shortfall(path, size, declared)
    if name not in _DECLARING_FORMATS and not (name == "mp3" and _mp3_declares_length(path)):
        return None
    declared = _declared_for_audio(container, audio, declared)
    if declared is None or declared <= 0:
        return None
    held = _end_reached(container, audio, declared)
    if held is None or not _clearly_short(held, declared):
        return None
    return Shortfall(size, held, declared)


def _mp3_declares_length(path: Path) -> bool:
    """Whether the MP3's first frame carries a Xing/Info or VBRI header (its frame count):
    past the ID3v2 tag (cover art may make it large), so only a few kilobytes are read."""
    with path.open("rb") as file:
        head = file.read(10)
        start = 0
        if head[:3] == b"ID3" and len(head) == 10:
            size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
            start = 10 + size + (10 if head[5] & 0x10 else 0)  # with its footer, if any
        file.seek(start)
        first = file.read(_MP3_TAG_SEARCH)
    return any(tag in first for tag in _MP3_LENGTH_TAGS)


def _declared_for_audio(
    container: av.container.InputContainer, audio: av.AudioStream, declared: float | None
) -> float | None:
    """The audio's own declared length: a container's length also counts its video, whose
    sound may legitimately stop before the picture does."""
    if audio.duration is not None or all(s.type == "audio" for s in container.streams):
        return declared
    return None


def _clearly_short(held: float, declared: float) -> bool:
    return declared - held > max(TOLERATED_SECONDS, TOLERATED_FRACTION * declared)


def _wav_shortfall(path: Path, size: int) -> Shortfall | None:
    """RIFF's data chunk declares its size; FFmpeg trims it to the file's, so the cut does not
    show through PyAV: the few header bytes are read here (Python's `wave` module refuses
    the non-PCM WAVs PyAV reads)."""
    with path.open("rb") as file:
        if file.read(12)[8:12] != b"WAVE":
            return None
        byte_rate = 0
        for _ in range(64):  # chunks before the data: fmt, fact, LIST, ... bounded
            header = file.read(8)
            if len(header) < 8:
                return None
            chunk, length = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"fmt ":
                byte_rate = struct.unpack("<I", file.read(12)[8:12])[0]
                file.seek(length + (length & 1) - 12, 1)
            elif chunk == b"data":
                if length in _STREAMED_WAV_SIZES or not byte_rate:
                    return None
                present = size - file.tell()
                held, declared = present / byte_rate, length / byte_rate
                return Shortfall(size, held, declared) if _clearly_short(held, declared) else None
            else:
                file.seek(length + (length & 1), 1)
    return None


def _ogg_shortfall(path: Path, size: int, held: float | None) -> Shortfall | None:
    """Ogg declares no total length (FFmpeg reads it off the last page), so a cut shows as a
    last page that ends past the end of the file. One without its end-of-stream flag but
    whole (a recording of a live stream) is not called cut."""
    with path.open("rb") as file:
        file.seek(max(0, size - _OGG_PAGE_MAX))
        tail = file.read()
    start = tail.rfind(b"OggS")
    while start >= 0 and tail[start + 4 : start + 5] not in (b"", b"\0"):  # version 0 only
        start = tail.rfind(b"OggS", 0, start)
    if start < 0:
        return None
    header_end = start + 27
    table = tail[header_end : header_end + tail[start + 26]] if len(tail) > start + 26 else b""
    page_end = header_end + len(table) + sum(table)
    if len(tail) > start + 26 and len(table) == tail[start + 26] and page_end <= len(tail):
        return None
    return Shortfall(size, held or 0.0, None)


def _end_reached(
    container: av.container.InputContainer, audio: av.AudioStream, declared: float
) -> float | None:
    """Where the audio's last packet ends, found by a seek to just before the declared end
    (a cut file has no packets there: the seek lands on its last ones, or on none); None
    when the format cannot say (no seek, no timestamps)."""
    time_base = audio.time_base
    if time_base is None:
        return None
    target = max(0.0, declared - SEEK_BEFORE_END)
    end: float | None = None
    try:
        container.seek(int(target / time_base), stream=audio, backward=True)
        for count, packet in enumerate(container.demux(audio)):
            if packet.pts is not None and packet.size:
                packet_end = float((packet.pts + (packet.duration or 0)) * time_base)
                end = packet_end if end is None else max(end, packet_end)
            if count >= MAX_END_PACKETS:
                return None  # far more packets than a few seconds hold: not a cut file
    except av.error.FFmpegError:
        return end  # a cut file may end inside a packet: what came before it counts
    return 0.0 if end is None else end
