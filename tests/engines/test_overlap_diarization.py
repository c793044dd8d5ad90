"""Speaker turns from local speaker segmentation and CAM++ prints, on real voices: overlaps
found as two voices at once, and voices counted right."""

from __future__ import annotations

from pathlib import Path

from faster_whisper import decode_audio
from pyannote.metrics.diarization import DiarizationErrorRate

from bulk_transcribe.engines.diarization import Turn, diarize
from bulk_transcribe.engines.overlap_diarization import diarize_overlapping
from bulk_transcribe.engines.voice_encoders import CAMPPLUS, load_voice_encoder
from tests.engines.speaker_extra import needs_campplus
from tests.engines.test_diarization import MAX_DER, THREE_VOICES, as_annotation, true_turns

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
