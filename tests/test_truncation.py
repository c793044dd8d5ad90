"""A file that holds clearly less than its own header declares is told from a whole one."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from bulk_transcribe.errors import ErrorKind, TruncatedMedia
from bulk_transcribe.media import checked_duration
from bulk_transcribe.truncation import Shortfall, shortfall
from tests.samples import EXAMPLES, REPO

SPEECH = REPO / "tests" / "data" / "speech"
# Every container a download may be, each whole and then cut: WAV (PCM and G.711 with a
# fact chunk), MP3 with a Xing header, Ogg Vorbis and Opus, FLAC.
CUTTABLE = [
    EXAMPLES / "media" / "01_solar_panels.wav",
    EXAMPLES / "media" / "02_library_visit.mp3",
    EXAMPLES / "media" / "04_weather_report.ogg",
    EXAMPLES / "media" / "05_garden_tips.flac",
    SPEECH / "librivox_dashwood.opus",
    SPEECH / "librivox_dashwood_telephone.wav",
    SPEECH / "ljspeech_rare_names.opus",
]


def measured(path: Path) -> Shortfall | None:
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        declared = float(audio.duration * audio.time_base) if audio.duration else None
        return shortfall(path, container, audio, declared)


def cut(source: Path, folder: Path, fraction: float) -> Path:
    data = source.read_bytes()
    path = folder / source.name
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


@pytest.mark.parametrize("source", CUTTABLE, ids=lambda p: p.name)
def test_a_whole_file_passes_and_the_same_file_cut_in_half_is_caught(
    source: Path, tmp_path: Path
) -> None:
    assert measured(source) is None
    whole = checked_duration(source)
    half = cut(source, tmp_path, 0.5)
    found = measured(half)
    assert found is not None and found.size == half.stat().st_size
    assert found.held < 0.6 * whole
    assert found.declared is None or abs(found.declared - whole) < 0.1
    with pytest.raises(TruncatedMedia) as raised:
        checked_duration(half)
    assert raised.value.kind is ErrorKind.NETWORK and raised.value.transient
    assert f"{half.stat().st_size:,} bytes" in raised.value.message
    assert "cut short" in raised.value.message and "resume" in raised.value.message


def test_an_mp4_with_its_index_first_cut_short_is_caught_by_a_seek_near_its_end(
    tmp_path: Path,
) -> None:
    """Podcast hosts serve "fast start" MP4s: the index opens, the samples it lists are gone."""
    rate = 16_000
    path = tmp_path / "episode.m4a"
    tone = np.sin(np.arange(rate * 20) / rate * 2 * np.pi * 220).astype(np.float32)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    assert measured(path) is None
    (tmp_path / "cut").mkdir()
    found = measured(cut(path, tmp_path / "cut", 0.8))
    assert found is not None and found.declared is not None and found.declared > 19.9
    assert found.held < 17


def test_a_wav_written_to_a_pipe_declares_no_size_and_is_not_called_cut(tmp_path: Path) -> None:
    source = EXAMPLES / "media" / "01_solar_panels.wav"
    data = bytearray(source.read_bytes())
    data_chunk = data.index(b"data")
    data[data_chunk + 4 : data_chunk + 8] = struct.pack("<I", 0xFFFFFFFF)
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(bytes(data[: len(data) // 2]))
    assert measured(streamed) is None


def test_an_ogg_stream_cut_at_a_page_boundary_without_its_end_flag_is_accepted(
    tmp_path: Path,
) -> None:
    """A recording of a live stream has whole pages but no end-of-stream flag: only a page
    that runs past the end of the file is called a cut (a cut rarely lands between pages)."""
    data = (SPEECH / "ljspeech_rare_names.opus").read_bytes()
    boundary = data.rfind(b"OggS", 0, len(data) // 2)
    whole_pages = tmp_path / "live.opus"
    whole_pages.write_bytes(data[:boundary])
    assert measured(whole_pages) is None
    whole_pages.write_bytes(data[: boundary + 100])
    assert measured(whole_pages) is not None


def test_a_raw_aac_stream_whose_length_is_an_estimate_is_never_called_cut(
    tmp_path: Path,
) -> None:
    """Raw AAC declares no length: FFmpeg estimates one from the bit rate (a twenty-minute
    one came out 26 s long), and a seek finds the real end elsewhere. Such a format is not
    checked at all, whole or cut (README: it cannot be told from a whole one)."""
    rate = 16_000
    noise = 0.1 * np.random.default_rng(0).standard_normal(rate * 30)
    path = tmp_path / "episode.aac"
    with av.open(str(path), "w", format="adts") as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        samples = noise.astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert float(audio.duration * audio.time_base) > 30.2  # the estimate overshoots
    assert measured(path) is None
    assert checked_duration(path) > 30
    (tmp_path / "cut").mkdir()
    assert measured(cut(path, tmp_path / "cut", 0.5)) is None
