"""Which way a recording's speaker turns are found: the window path (diarization.py), or,
when the user asks for it, local speaker segmentation that hears two voices at once
(overlap_diarization.py).

The segmentation path is a choice, not the default: on dev it cut AMI's error with `auto`
(23.4 -> 16.8 %) but the tests' four readers are still worse (1.6 -> 2.9 %, 12.8 % before a
print per stretch), beyond the 0.3-point margin the default had to keep;
benchmarks/README.md, "Local speaker segmentation" and "One print per stretch".
"""

from __future__ import annotations

import numpy as np

from bulk_transcribe.engines.diarization import Turn, diarize
from bulk_transcribe.engines.narrowband import Band, band_of
from bulk_transcribe.engines.voice_encoders import CAMPPLUS, VoiceEncoder

WINDOWS, OVERLAP = "windows", "overlap"  # how the turns were found, as each note records it


def find_turns(
    audio: np.ndarray,
    speakers: int | None,
    encoder: VoiceEncoder,
    stored_rate: int | None,
    overlap: bool,
) -> tuple[list[Turn], str]:
    """The turns (diarization.diarize's arguments) and how they were found (turns_method):
    with `overlap`, turns of two voices overlap where both talk."""
    method = turns_method(encoder, stored_rate, overlap)
    if method == OVERLAP:
        from bulk_transcribe.engines.overlap_diarization import diarize_overlapping

        return diarize_overlapping(audio, speakers, encoder), method
    return diarize(audio, speakers, encoder, stored_rate), method


def turns_method(encoder: VoiceEncoder, stored_rate: int | None, overlap: bool) -> str:
    """OVERLAP when it was asked for and can run here (uses_segmentation), else WINDOWS: a
    telephone-band recording keeps the window path, whose thresholds were chosen for it."""
    return OVERLAP if overlap and uses_segmentation(encoder, stored_rate) else WINDOWS


def uses_segmentation(encoder: VoiceEncoder, stored_rate: int | None) -> bool:
    """Whether local speaker segmentation (overlap_diarization.py) can diarize this: CAM++
    with the segmentation model installed, a wideband recording (its thresholds were
    chosen on wideband speech only)."""
    from bulk_transcribe.engines.segmentation import segmentation_missing

    return (
        encoder.name == CAMPPLUS
        and band_of(stored_rate) is Band.WIDE
        and not segmentation_missing()
    )
