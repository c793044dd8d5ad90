"""Recordings stored at telephone rates find their speech at a lower VAD threshold, for the
words and the speaker turns alike, and count their voices with thresholds of their own (one
decision, narrowband.py)."""

from __future__ import annotations

from bulk_transcribe.engines.diarization import (
    CAMPPLUS_COUNT,
    CAMPPLUS_TELEPHONE_COUNT,
    RESEMBLYZER_COUNT,
    count_thresholds,
)
from bulk_transcribe.engines.local_whisper import vad_options
from bulk_transcribe.engines.narrowband import (
    NARROWBAND_VAD_THRESHOLD,
    Band,
    band_of,
    vad_threshold,
)
from bulk_transcribe.engines.voice_encoders import CAMPPLUS, RESEMBLYZER


def test_only_recordings_stored_at_8_khz_or_less_get_the_lower_threshold() -> None:
    assert vad_threshold(8000) == vad_threshold(6000) == NARROWBAND_VAD_THRESHOLD < 0.5
    assert vad_threshold(11025) is None and vad_threshold(16000) is None
    assert vad_threshold(None) is None  # rate unknown: Silero's usual threshold


def test_the_words_use_the_same_threshold() -> None:
    assert vad_options(8000).threshold == vad_threshold(8000)


def test_the_band_follows_the_stored_rate() -> None:
    assert band_of(8000) is band_of(6000) is Band.NARROW
    assert band_of(11025) is band_of(16000) is band_of(None) is Band.WIDE


def test_telephone_band_voices_are_counted_with_their_own_thresholds_wideband_as_before() -> None:
    assert count_thresholds(CAMPPLUS, 8000) == CAMPPLUS_TELEPHONE_COUNT != CAMPPLUS_COUNT
    for rate in (16000, 44100, None):
        assert count_thresholds(CAMPPLUS, rate) == CAMPPLUS_COUNT
        assert count_thresholds(RESEMBLYZER, rate) == RESEMBLYZER_COUNT
    assert count_thresholds(RESEMBLYZER, 8000) == RESEMBLYZER_COUNT  # never swept by phone
