"""A probe, not in the product: the window path (engines/diarization.py) counting its voices
from the 1.5 s windows where one person talks.

In a real conversation, windows where two talk at once, or crosstalk, make prints between
two voices; average linkage may gather them into clusters that come nearer than two voices'
centroids and merge everything (seen in an earlier session on the held-out real two-person
sample). pyannote's segmentation model (engines/segmentation.py) hears how many talk in each
frame; a window with too much overlap, or too little speech, is left out of the count and
takes its nearest voice afterwards, as pyannote's own pipeline does with its embeddings. On
dev it changed nothing but one AMI excerpt, for the worse, so the window path stays as it is
(benchmarks/README.md, "Voices counted from windows where one person talks").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bulk_transcribe.engines.diarization import (
    Turn,
    count_thresholds,
    turns_of,
    voice_prints,
)
from bulk_transcribe.engines.narrowband import Band, band_of
from bulk_transcribe.engines.segmentation import (
    RATE,
    LocalActivity,
    load_segmentation,
    speakers_heard,
)
from bulk_transcribe.engines.voice_encoders import CAMPPLUS, VoiceEncoder

# Chunks of the segmentation this many seconds apart: the overlap path's step
# (overlap_diarization.STEP_SECONDS), whose dev segmentations are cached.
STEP_SECONDS = 2.5
# Chosen on dev (speaker_thresholds.py --clean): every share from 0 to 0.5 gave the same
# figures; 0.2 is inside. Left out: more than this share of its frames hear two or more.
MIXED_SHARE = 0.2
# Left out: more than this share of its frames hear nobody. 1.0, never: at 0.5 a dev
# 3-5-voice conversation lost a voice, at 0.75 nothing changed.
SILENT_SHARE = 1.0
# Fewer windows than this left to count from (a voice's smallest cluster): all are counted.
MIN_COUNTED_WINDOWS = 6


def counted_windows(
    windows: Sequence[tuple[float, float]],
    activity: LocalActivity,
    seconds: float,
    mixed_share: float = MIXED_SHARE,
    silent_share: float = SILENT_SHARE,
) -> np.ndarray | None:
    """A bool per window: True where one person talks (see the shares above). None when
    fewer than MIN_COUNTED_WINDOWS are: then every window is counted, as without the model."""
    mixed, silent = window_shares(windows, activity, seconds)
    counted = (mixed <= mixed_share) & (silent <= silent_share)
    return counted if counted.sum() >= MIN_COUNTED_WINDOWS else None


def window_shares(
    windows: Sequence[tuple[float, float]], activity: LocalActivity, seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """(share of frames where two or more talk, share where nobody does) of each window,
    over the frames whose middle lies inside it."""
    frames = int(np.ceil(seconds / activity.frame_step)) + 1
    heard = speakers_heard(activity, frames)
    middles = np.arange(frames) * activity.frame_step + activity.frame_duration / 2
    # Running sums, so each window's share is two look-ups.
    mixed_sum = np.concatenate([[0], np.cumsum(heard >= 2)])
    silent_sum = np.concatenate([[0], np.cumsum(heard == 0)])
    bounds = np.array(windows, dtype=float).reshape(-1, 2)
    first = np.searchsorted(middles, bounds[:, 0])
    after = np.searchsorted(middles, bounds[:, 1])
    inside = np.maximum(after - first, 1)
    return (
        (mixed_sum[after] - mixed_sum[first]) / inside,
        (silent_sum[after] - silent_sum[first]) / inside,
    )


def diarize_clean(
    audio: np.ndarray, speakers: int | None, encoder: VoiceEncoder, stored_rate: int | None
) -> list[Turn]:
    """diarization.diarize, the voices counted from the windows where one person talks (CAM++
    on wideband recordings; others, and recordings with fewer such windows than
    MIN_COUNTED_WINDOWS, exactly as diarize)."""
    prints = voice_prints(audio, encoder, stored_rate)
    counted = None
    if prints.windows and encoder.name == CAMPPLUS and band_of(stored_rate) is Band.WIDE:
        activity = load_segmentation().activity(audio, STEP_SECONDS)
        counted = counted_windows(prints.windows, activity, len(audio) / RATE)
    thresholds = count_thresholds(encoder.name, stored_rate)
    return turns_of(prints, speakers, thresholds, counted=counted)
