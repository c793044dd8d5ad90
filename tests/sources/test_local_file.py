"""Local media files: a good one is measured, a bad one fails saying what to check."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.local_file import LocalFileSource
from tests.samples import SAMPLE_MEDIA
from tests.sources.items import make_context, make_item


def fetch(path: Path, tmp_path: Path):
    item = make_item(str(path), SourceType.LOCAL_FILE)
    return LocalFileSource().fetch(item, make_context(Settings(out_dir=tmp_path), tmp_path))


def test_a_recording_is_measured_and_titled_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "My talk.mp3"
    shutil.copy(next(p for p in SAMPLE_MEDIA if p.suffix == ".mp3"), path)
    fetched = fetch(path, tmp_path)
    assert fetched.title == "My talk"
    assert 5 < fetched.duration < 60


def test_a_zero_byte_file_is_called_empty(tmp_path: Path) -> None:
    path = tmp_path / "interview.m4a"
    path.write_bytes(b"")
    with pytest.raises(PermanentError) as raised:
        fetch(path, tmp_path)
    assert raised.value.kind is ErrorKind.DECODE
    assert raised.value.message.startswith("interview.m4a is empty (0 bytes)")


def test_text_named_like_a_video_says_what_to_check(tmp_path: Path) -> None:
    path = tmp_path / "lecture.mp4"
    path.write_text("Meeting notes, not a recording.\n" * 20, encoding="utf-8")
    with pytest.raises(PermanentError) as raised:
        fetch(path, tmp_path)
    assert raised.value.kind is ErrorKind.DECODE
    assert raised.value.message.startswith("could not decode audio in lecture.mp4")
    assert "plays in a media player" in raised.value.message
    assert "another kind of file named .mp4" in raised.value.message


def test_a_video_without_sound_says_it_has_no_audio_track(tmp_path: Path) -> None:
    path = tmp_path / "screen.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(PermanentError) as raised:
        fetch(path, tmp_path)
    assert raised.value.message == (
        "no audio track in screen.mp4: a video without sound has nothing to transcribe"
    )
