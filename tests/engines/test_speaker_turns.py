"""Which way the turns are found: overlap only when asked for and where it can run."""

from __future__ import annotations

import pytest
from faster_whisper import decode_audio

from bulk_transcribe.engines.speaker_turns import OVERLAP, WINDOWS, find_turns, turns_method
from bulk_transcribe.engines.voice_encoders import load_voice_encoder
from tests.engines.speaker_extra import needs_campplus
from tests.engines.test_diarization import CONVERSATION


@needs_campplus
@pytest.mark.parametrize(
    ("encoder", "stored_rate", "overlap", "method"),
    [
        ("campplus", 16_000, True, OVERLAP),
        ("campplus", 44_100, False, WINDOWS),  # not asked for
        ("campplus", 8_000, True, WINDOWS),  # telephone band: thresholds chosen for it
        ("resemblyzer", 16_000, True, WINDOWS),  # CAM++ only
    ],
)
def test_overlap_is_taken_only_when_asked_for_on_wideband_cam_plus_plus(
    encoder: str, stored_rate: int, overlap: bool, method: str
) -> None:
    assert turns_method(load_voice_encoder(encoder), stored_rate, overlap) == method


@needs_campplus
def test_the_turns_found_either_way_label_the_two_readers() -> None:
    audio = decode_audio(str(CONVERSATION))
    encoder = load_voice_encoder("campplus")
    for overlap, expected in ((False, WINDOWS), (True, OVERLAP)):
        turns, method = find_turns(audio, None, encoder, 16_000, overlap)
        assert method == expected
        assert {turn.speaker for turn in turns} == {1, 2}
