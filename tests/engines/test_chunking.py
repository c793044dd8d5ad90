"""Media is made to fit an upload limit: compact re-encoding first, then cuts in the pauses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bulk_transcribe.engines.chunking import (
    AudioChunk,
    compact_audio,
    find_split_points,
    fit_for_upload,
    split_at_silences,
    stitch,
)
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import Segment
from tests.fakes.transcripts import decode_mono
from tests.samples import SAMPLE_MEDIA, write_wav

RATE = 16_000
GAP_SECONDS = 3.0


@pytest.fixture(scope="module")
def speech_with_pauses(tmp_path_factory) -> tuple[Path, list[tuple[float, float]]]:
    """Three spoken samples with 3 s of silence between them; returns the silent spans."""
    pieces, silences, position = [], [], 0.0
    for index, sample in enumerate(SAMPLE_MEDIA[:3]):
        speech = decode_mono(sample)
        pieces.append(speech)
        position += len(speech) / RATE
        if index < 2:
            pieces.append(np.zeros(int(GAP_SECONDS * RATE), np.float32))
            silences.append((position, position + GAP_SECONDS))
            position += GAP_SECONDS
    path = tmp_path_factory.mktemp("long") / "talk.wav"
    return write_wav(path, np.concatenate(pieces)), silences


def test_compact_audio_is_much_smaller_and_just_as_long(tmp_path):
    source = SAMPLE_MEDIA[0]  # a wav
    compact = compact_audio(source, tmp_path / "c.ogg")
    assert compact.path.stat().st_size < source.stat().st_size / 5
    assert compact.duration == pytest.approx(probe_duration(source), abs=0.05)
    assert probe_duration(compact.path) == pytest.approx(compact.duration, abs=0.1)
    assert len(compact.energy) == pytest.approx(compact.duration / 0.1, abs=1)


def test_split_points_fall_on_the_quietest_stretch():
    loud, quiet = 1000.0, 1.0
    energy = [loud] * 150 + [quiet] * 20 + [loud] * 150  # 32 s with a pause at 15-17 s
    cuts = find_split_points(energy, max_chunk_seconds=20.0)
    assert len(cuts) == 1
    assert 15.0 <= cuts[0] <= 17.0


def test_no_cuts_when_everything_fits_and_no_tiny_chunks():
    assert find_split_points([1.0] * 100, max_chunk_seconds=20.0) == []
    with pytest.raises(ValueError):
        find_split_points([1.0] * 100, max_chunk_seconds=1.0)


def test_real_speech_is_cut_in_the_pauses_between_sentences(speech_with_pauses, tmp_path):
    path, silences = speech_with_pauses
    chunks = split_at_silences(path, max_chunk_seconds=20.0, folder=tmp_path)
    assert len(chunks) == 3
    for chunk, (silence_start, silence_end) in zip(chunks[1:], silences, strict=True):
        assert silence_start <= chunk.offset <= silence_end
    for chunk in chunks:
        assert chunk.duration <= 20.0
        assert probe_duration(chunk.path) == pytest.approx(chunk.duration, abs=0.1)
    total = sum(c.duration for c in chunks)
    assert total == pytest.approx(probe_duration(path), abs=0.1)


def test_small_accepted_files_are_uploaded_as_they_are(tmp_path):
    source = SAMPLE_MEDIA[1]  # an mp3
    chunks = fit_for_upload(
        source, 10 * 1024**2, tmp_path, accepted_suffixes=frozenset({".mp3"}), duration=12.0
    )
    assert chunks == [AudioChunk(source, 0.0, 12.0, upload_name=source.name)]


def test_an_ogg_opus_file_is_uploaded_as_it_is_under_an_ogg_name(tmp_path):
    opus = tmp_path / "episode.opus"
    compact_audio(SAMPLE_MEDIA[0], tmp_path / "episode.ogg").path.rename(opus)
    before = opus.read_bytes()

    (chunk,) = fit_for_upload(
        opus, 10 * 1024**2, tmp_path / "work", accepted_suffixes=frozenset({".ogg", ".mp3"})
    )

    assert chunk.path == opus and chunk.name == "episode.ogg"  # same bytes, no re-encoding
    assert opus.read_bytes() == before and not (tmp_path / "work").exists()


def test_an_opus_file_that_is_not_ogg_is_re_encoded(tmp_path):
    fake = tmp_path / "not-ogg.opus"
    fake.write_bytes(SAMPLE_MEDIA[1].read_bytes())  # an mp3 under the wrong name

    (chunk,) = fit_for_upload(fake, 10 * 1024**2, tmp_path, accepted_suffixes=frozenset({".ogg"}))

    assert chunk.path != fake and chunk.path.suffix == ".ogg"


def test_unaccepted_formats_are_re_encoded_not_split(tmp_path):
    source = next(p for p in SAMPLE_MEDIA if p.suffix == ".mp4")
    (chunk,) = fit_for_upload(source, 10 * 1024**2, tmp_path, accepted_suffixes=frozenset())
    assert chunk.path.suffix == ".ogg" and chunk.path.stem == source.stem
    assert chunk.offset == 0.0


def test_too_large_files_become_chunks_each_under_the_limit(speech_with_pauses, tmp_path):
    path, _ = speech_with_pauses
    limit = 80_000  # bytes: the compact file is about 140 kB
    chunks = fit_for_upload(path, limit, tmp_path, accepted_suffixes=frozenset({".wav"}))
    assert len(chunks) >= 2
    assert all(chunk.path.stat().st_size <= limit for chunk in chunks)
    assert [c.offset for c in chunks] == sorted(c.offset for c in chunks)


def test_a_limit_no_chunk_can_meet_is_a_clear_error(tmp_path):
    with pytest.raises(PermanentError) as caught:
        fit_for_upload(SAMPLE_MEDIA[0], 500, tmp_path, accepted_suffixes=frozenset())
    assert caught.value.kind is ErrorKind.UNSUPPORTED
    assert "UPLOAD_LIMIT" in caught.value.message


def test_stitching_puts_every_chunk_on_the_original_timeline():
    first = AudioChunk(Path("a"), 0.0, 10.0)
    second = AudioChunk(Path("b"), 10.0, 8.0)
    stitched = stitch(
        [
            (first, [Segment(0.0, 4.0, "one"), Segment(4.0, 10.2, "two")]),
            (second, [Segment(0.5, 3.0, "three"), Segment(3.0, 7.5, "four")]),
        ]
    )
    assert [(s.start, s.end, s.text) for s in stitched] == [
        (0.0, 4.0, "one"),
        (4.0, 10.0, "two"),  # a provider's overrun is clamped to the chunk
        (10.5, 13.0, "three"),
        (13.0, 17.5, "four"),
    ]


def test_cancel_while_encoding_stops_the_work(tmp_path, speech_with_pauses):
    path, _ = speech_with_pauses

    class Stop(Exception):
        pass

    def tick() -> None:
        raise Stop

    with pytest.raises(Stop):
        compact_audio(path, tmp_path / "c.ogg", tick=tick)
