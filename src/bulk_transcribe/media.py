"""Inspect media files with PyAV: is there audio, and how long is it."""

from __future__ import annotations

from pathlib import Path

import av

from bulk_transcribe.errors import ErrorKind, PermanentError


def probe_duration(path: Path) -> float:
    """Seconds of audio in `path`, read from the container header (no full decode).

    Raises PermanentError(DECODE) for files PyAV cannot open or that carry no audio.
    """
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            audio = next((s for s in container.streams if s.type == "audio"), None)
            if audio is None:
                raise PermanentError(
                    ErrorKind.DECODE, f"no audio track in {path.name}: is it a media file?"
                )
            if audio.duration is not None and audio.time_base is not None:
                return float(audio.duration * audio.time_base)
            if container.duration is not None:
                return container.duration / av.time_base
            return _duration_by_demuxing(container, audio)
    except av.error.FFmpegError as exc:
        raise PermanentError(
            ErrorKind.DECODE, f"could not decode audio in {path.name}: {exc.strerror or exc}"
        ) from exc


def _duration_by_demuxing(container: av.container.InputContainer, audio: av.AudioStream) -> float:
    """Some streams (raw ADTS, some webm) carry no duration: walk the packets instead."""
    end = 0.0
    for packet in container.demux(audio):
        if packet.pts is not None and packet.duration is not None and packet.time_base:
            end = max(end, float((packet.pts + packet.duration) * packet.time_base))
    return end
