"""Speaker turns from local speaker segmentation and CAM++ prints, on real voices: overlaps
found as two voices at once, and voices counted right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from faster_whisper import decode_audio
from pyannote.metrics.diarization import DiarizationErrorRate

from bulk_transcribe.engines.diarization import Turn, diarize, speech_regions
from bulk_transcribe.engines.overlap_diarization import (
    STEP_SECONDS,
    LocalPrints,
    _assign_stretches,
    diarize_overlapping,
    prints_of_activity,
    turns_of_local,
)
from bulk_transcribe.engines.segmentation import LocalActivity, load_segmentation
from bulk_transcribe.engines.voice_encoders import CAMPPLUS, load_voice_encoder
from tests.engines.speaker_extra import needs_campplus
from tests.engines.test_diarization import (
    FOUR_READERS,
    MAX_DER,
    THREE_VOICES,
    as_annotation,
    true_turns,
)
from tests.samples import SAMPLE_MEDIA

OVERLAP = Path(__file__).resolve().parents[1] / "data" / "speakers" / "overlap_mf.flac"
OVERLAPS = [(6.7, 9.7), (22.1, 24.1)]  # both voices talk (overlap_mf.rttm)


def overlapping_seconds(turns: list[Turn], start: float, end: float) -> float:
    """Seconds between start and end where turns of two different speakers overlap."""
    total = 0.0
    for first in turns:
        for second in turns:
            if first.speaker < second.speaker:
                shared = min(first.end, second.end, end) - max(first.start, second.start, start)
                total += max(0.0, shared)
    return total


@needs_campplus
def test_two_voices_talking_at_once_get_overlapping_turns() -> None:
    """The window path gives each moment one speaker: here 16 % error, the overlaps' second
    voice missed and a turn change put mid-overlap."""
    audio = decode_audio(str(OVERLAP))
    encoder = load_voice_encoder(CAMPPLUS)

    turns = diarize_overlapping(audio, None, encoder)

    assert {turn.speaker for turn in turns} == {1, 2}
    assert overlapping_seconds(turns, *OVERLAPS[0]) >= 2.0
    assert overlapping_seconds(turns, *OVERLAPS[1]) >= 1.0
    assert overlapping_seconds(turns, 0.0, 6.0) == 0.0  # one voice alone: no overlap
    truth = true_turns(OVERLAP)
    assert DiarizationErrorRate(collar=0.5)(truth, as_annotation(turns)) <= MAX_DER
    windows = diarize(audio, None, encoder)
    assert overlapping_seconds(windows, 0.0, 30.0) == 0.0  # what the old path could not


@needs_campplus
def test_three_voices_taking_turns_are_counted_as_three() -> None:
    turns = diarize_overlapping(decode_audio(str(THREE_VOICES)), None, load_voice_encoder(CAMPPLUS))

    assert {turn.speaker for turn in turns} == {1, 2, 3}
    error = DiarizationErrorRate(collar=0.5)(true_turns(THREE_VOICES), as_annotation(turns))
    assert error <= MAX_DER


@needs_campplus
def test_a_given_count_is_that_many_voices() -> None:
    turns = diarize_overlapping(decode_audio(str(OVERLAP)), 2, load_voice_encoder(CAMPPLUS))

    assert {turn.speaker for turn in turns} == {1, 2}
    truth = true_turns(OVERLAP)
    assert DiarizationErrorRate(collar=0.5)(truth, as_annotation(turns)) <= MAX_DER


@needs_campplus
def test_a_print_per_stretch_keeps_apart_two_voices_one_local_speaker_holds() -> None:
    """In the four readers the segmentation model often takes two readers of one 10 s chunk
    for one local speaker: a print per local speaker gives both one voice (dev: 12.8 %
    error), a print per stretch of its speech keeps them apart. Same segmentation both ways."""
    audio = decode_audio(str(FOUR_READERS))
    encoder = load_voice_encoder(CAMPPLUS)
    activity = load_segmentation().activity(audio, STEP_SECONDS)
    speech = tuple(speech_regions(audio))
    truth = true_turns(FOUR_READERS)
    error = DiarizationErrorRate(collar=0.5)

    by_stretch = turns_of_local(prints_of_activity(audio, activity, speech, encoder, True), None)
    whole = turns_of_local(prints_of_activity(audio, activity, speech, encoder, False), None)

    assert {turn.speaker for turn in by_stretch} == {1, 2, 3, 4}
    assert error(truth, as_annotation(by_stretch)) <= MAX_DER
    assert error(truth, as_annotation(whole)) > MAX_DER  # what the stretches fix


@needs_campplus
def test_one_voice_is_one_speaker_with_a_print_per_stretch() -> None:
    encoder = load_voice_encoder(CAMPPLUS)
    for media in SAMPLE_MEDIA[:2]:
        turns = diarize_overlapping(decode_audio(str(media)), None, encoder)
        assert turns and {turn.speaker for turn in turns} == {1}, media.name


def stretch_prints(owners: list[tuple[int, int, int, int]], rows: list[list[float]]):
    """LocalPrints of one chunk of 100 frames with these stretches' prints (2-d, unit)."""
    embeddings = np.array(rows, dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    activity = LocalActivity(np.zeros(1), np.zeros((1, 100, 3), bool), 0.1, 0.1)
    counted = np.ones(len(owners), bool)
    return LocalPrints(activity, owners, embeddings, counted, 10.0, (), stretches=True)


def test_stretches_that_overlap_in_time_are_two_voices_and_others_take_their_nearest() -> None:
    voices = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    # Local speaker 0 has two stretches, both nearest voice 0 but one of them overlaps a
    # stretch of local speaker 1 nearer voice 0 still; a third stretch stands alone.
    prints = stretch_prints(
        [(0, 0, 0, 30), (0, 1, 20, 40), (0, 0, 50, 70), (0, 1, 80, 90)],
        [[1.0, 0.3], [1.0, 0.1], [1.0, 0.2], [1.0, 0.4]],
    )

    assignment = _assign_stretches(prints, voices)

    assert assignment[(0, 0, 0, 30)] != assignment[(0, 1, 20, 40)]
    assert assignment[(0, 1, 20, 40)] == 0  # the nearer of the two to voice 0 keeps it
    assert assignment[(0, 0, 50, 70)] == 0 and assignment[(0, 1, 80, 90)] == 0
    # One print per local speaker would have given local speaker 0 one voice throughout.


def test_a_chain_of_overlaps_keeps_apart_only_stretches_that_meet() -> None:
    """A overlaps B, B overlaps C, A and C never meet: A and C may be one voice."""
    voices = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    prints = stretch_prints(
        [(0, 0, 0, 30), (0, 1, 25, 60), (0, 0, 55, 90)],
        [[1.0, 0.1], [0.1, 1.0], [1.0, 0.1]],
    )

    assignment = _assign_stretches(prints, voices)

    assert assignment == {(0, 0, 0, 30): 0, (0, 1, 25, 60): 1, (0, 0, 55, 90): 0}
