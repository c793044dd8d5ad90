"""Telephone-band recordings (stored at 8 kHz or less): the one place that decides a
recording's band from its stored rate, for what depends on it: the Silero VAD threshold of
the words (local_whisper.vad_options) and the speaker turns (diarization.speech_regions),
and the thresholds that count the voices (diarization.count_thresholds).

Silero VAD hears telephone-band speech (8 kHz, nothing above 4 kHz) as half speech: on the
dev half's derived telephone copies, the frames that are speech in the clean source scored
a median 0.78 and a tenth of them under 0.46 (0.99 clean), so at the usual threshold of 0.5
whole words fell out between the speech it kept ("Consequently", "Nautilus", "ask"). Their
silence stays low (99 % of its frames under 0.12). At 0.3 (0.15 to end speech) 98 % of the
speech frames count and no silence frame does. Only for recordings stored at 8 kHz or
less: on wideband speech a lower threshold let noise in (benchmarks/README.md).
"""

from __future__ import annotations

from enum import StrEnum

NARROWBAND_MAX_RATE = 8_000
NARROWBAND_VAD_THRESHOLD = 0.3


class Band(StrEnum):
    WIDE = "wideband"
    NARROW = "narrowband"  # telephone band


def band_of(stored_rate: int | None) -> Band:
    """The band of a recording stored at this rate; an unknown rate counts as wideband."""
    if stored_rate is None or stored_rate > NARROWBAND_MAX_RATE:
        return Band.WIDE
    return Band.NARROW


def vad_threshold(stored_rate: int | None) -> float | None:
    """The VAD threshold for a recording stored at this rate; None: Silero's usual one."""
    return NARROWBAND_VAD_THRESHOLD if band_of(stored_rate) is Band.NARROW else None
