"""Where to cut a long recording into sections the local engine transcribes one at a time.

faster-whisper's batched pipeline copies every speech chunk of a file and computes the
features of all its windows before it decodes one: for two hours that is about 0.7 GB on
top of the audio itself (measured below in benchmarks/long_recording.py). Cut into sections
of about ten minutes, those copies exist for one section at a time, so memory stays flat
and time grows linearly with length. Each cut falls in the quietest half second near its
mark, so a word is not split between two sections.
"""

from __future__ import annotations

import numpy as np

RATE = 16_000
SECTION_SECONDS = 600.0
SEARCH_SECONDS = 20.0  # how far before a mark the cut may fall
QUIET_SECONDS = 0.5  # the stretch whose energy is compared


def section_bounds(audio: np.ndarray, section_seconds: float | None = None) -> list[int]:
    """Sample offsets [0, cut1, ..., len(audio)]: one section for a short recording."""
    section = int((section_seconds or SECTION_SECONDS) * RATE)
    bounds = [0]
    while len(audio) - bounds[-1] > section * 1.5:  # no short last section
        mark = bounds[-1] + section
        # Never search the first half of a section: every cut moves on.
        search_from = max(mark - int(SEARCH_SECONDS * RATE), bounds[-1] + section // 2)
        bounds.append(quietest_point(audio, search_from, mark))
    bounds.append(len(audio))
    return bounds


def quietest_point(audio: np.ndarray, start: int, end: int) -> int:
    """The middle of the quietest QUIET_SECONDS stretch between start and end."""
    step = int(QUIET_SECONDS * RATE)
    stretch = audio[start:end]
    usable = len(stretch) // step * step
    if usable == 0:
        return end
    energy = np.square(stretch[:usable].reshape(-1, step), dtype=np.float32).mean(axis=1)
    return start + int(np.argmin(energy)) * step + step // 2
