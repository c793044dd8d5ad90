"""Recordings stored at telephone rates find their speech at a lower VAD threshold, for the
words and the speaker turns alike (one decision, narrowband.py)."""

from __future__ import annotations

from bulk_transcribe.engines.local_whisper import vad_options
from bulk_transcribe.engines.narrowband import NARROWBAND_VAD_THRESHOLD, vad_threshold


def test_only_recordings_stored_at_8_khz_or_less_get_the_lower_threshold() -> None:
    assert vad_threshold(8000) == vad_threshold(6000) == NARROWBAND_VAD_THRESHOLD < 0.5
    assert vad_threshold(11025) is None and vad_threshold(16000) is None
    assert vad_threshold(None) is None  # rate unknown: Silero's usual threshold


def test_the_words_use_the_same_threshold() -> None:
    assert vad_options(8000).threshold == vad_threshold(8000)
