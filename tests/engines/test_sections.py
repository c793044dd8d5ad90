"""Long recordings are cut into sections at their quietest moments."""

from __future__ import annotations

import itertools

import numpy as np

from bulk_transcribe.engines.sections import RATE, section_bounds


def test_a_recording_under_one_and_a_half_sections_is_not_cut() -> None:
    audio = np.ones(int(14 * RATE), dtype=np.float32)

    assert section_bounds(audio, section_seconds=10) == [0, len(audio)]


def test_each_cut_falls_in_the_quiet_stretch_before_its_mark() -> None:
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.3, 95 * RATE).astype(np.float32)  # "speech" everywhere...
    for pause in (26, 55):  # ...but two half-second pauses, a few seconds before 30 s and 60 s
        audio[pause * RATE : int((pause + 0.5) * RATE)] = 0.0

    bounds = section_bounds(audio, section_seconds=30)

    assert bounds[0] == 0 and bounds[-1] == len(audio)
    assert len(bounds) == 4  # three sections: 0-26, 26-55, 55-95 s
    for cut, pause in zip(bounds[1:-1], (26, 55), strict=True):
        assert pause * RATE <= cut <= (pause + 0.5) * RATE


def test_sections_shorter_than_the_search_still_move_on() -> None:
    audio = np.ones(20 * RATE, dtype=np.float32)  # no quiet anywhere

    bounds = section_bounds(audio, section_seconds=6)

    assert bounds == sorted(set(bounds)) and bounds[-1] == len(audio)
    assert all(b - a >= 3 * RATE for a, b in itertools.pairwise(bounds))
