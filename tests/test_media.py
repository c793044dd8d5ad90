"""probe_duration: what a file's header claims is checked against what the file can hold."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from faster_whisper.audio import decode_audio

from bulk_transcribe.errors import ErrorKind, PermanentError, TruncatedMedia
from bulk_transcribe.media import MEDIA_EXTENSIONS, checked_duration, probe_duration
from tests.samples import SAMPLE_MEDIA

RATE = 16_000
STREAMINFO = 8  # after "fLaC" and the metadata block header


def write_flac(path: Path, samples: np.ndarray) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").reshape(1, -1)
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def claim_total_samples(data: bytearray, total: int) -> None:
    """Rewrite STREAMINFO's 36-bit total-samples field, as a damaged or forged file has it."""
    data[STREAMINFO + 13] = (data[STREAMINFO + 13] & 0xF0) | ((total >> 32) & 0x0F)
    data[STREAMINFO + 14 : STREAMINFO + 18] = (total & 0xFFFFFFFF).to_bytes(4, "big")


def test_a_truncated_flac_claiming_ten_hours_reports_what_it_holds(tmp_path: Path) -> None:
    samples = decode_audio(str(SAMPLE_MEDIA[0]), sampling_rate=RATE)
    real_seconds = len(samples) / RATE
    flac = write_flac(tmp_path / "talk.flac", samples)
    assert abs(probe_duration(flac) - real_seconds) < 0.1  # an intact file: its header is right

    data = bytearray(flac.read_bytes())
    claim_total_samples(data, 10 * 3600 * RATE)
    truncated = tmp_path / "truncated.flac"
    truncated.write_bytes(bytes(data[: len(data) * 6 // 10]))
    with av.open(str(truncated)) as container:  # the header does claim ten hours
        assert container.streams.audio[0].duration == 10 * 3600 * RATE

    measured = probe_duration(truncated)
    assert 0 < measured < real_seconds


def test_checked_duration_measures_as_probe_duration_does_and_refuses_garbage(
    tmp_path: Path,
) -> None:
    """A download is checked and measured on one open: the same duration as the header
    probe, a file that holds far less than its header claims called cut short (a local
    file's probe walks its packets instead), and no duration for what is not audio."""
    samples = decode_audio(str(SAMPLE_MEDIA[0]), sampling_rate=RATE)
    flac = write_flac(tmp_path / "talk.flac", samples)
    assert checked_duration(flac) == probe_duration(flac)

    data = bytearray(flac.read_bytes())
    claim_total_samples(data, 10 * 3600 * RATE)
    truncated = tmp_path / "truncated.flac"
    truncated.write_bytes(bytes(data[: len(data) * 6 // 10]))
    with pytest.raises(TruncatedMedia) as cut:
        checked_duration(truncated)
    assert cut.value.declared == 10 * 3600 and 0 < cut.value.held < len(samples) / RATE
    assert 0 < probe_duration(truncated) < len(samples) / RATE

    page = tmp_path / "page.mp3"
    page.write_bytes(b"<html><body>Sign in to listen</body></html>" * 50)
    with pytest.raises(PermanentError) as refused:
        checked_duration(page)
    assert refused.value.kind is ErrorKind.DECODE


@pytest.mark.parametrize(("suffix", "container"), [(".m4b", "mp4"), (".mka", "matroska")])
def test_an_audiobook_or_matroska_audio_file_decodes_to_its_length(
    tmp_path: Path, suffix: str, container: str
) -> None:
    """Newly listed extensions are ones PyAV reads: a real file of each decodes whole."""
    path = tmp_path / f"book{suffix}"
    rate = 16000
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream("aac", rate=rate, layout="mono")
        samples = (np.sin(np.arange(rate * 3) / 20) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples[np.newaxis, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    assert path.suffix in MEDIA_EXTENSIONS
    assert checked_duration(path) == pytest.approx(3.0, abs=0.2)  # AAC frames pad the end
