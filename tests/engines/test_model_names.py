"""Which --model values are refused up front: folders written as paths that are not there,
or files; names the engine may download, and folders that exist, pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.engines.model_names import check_model_folder
from bulk_transcribe.errors import ErrorKind, PermanentError


@pytest.mark.parametrize(
    "name", ["tiny.en", "small", "large-v3", "Systran/faster-whisper-small", "distil/large"]
)
def test_names_of_downloadable_models_pass(name: str) -> None:
    check_model_folder(name)


def test_an_existing_folder_passes(tmp_path: Path) -> None:
    check_model_folder(str(tmp_path))


@pytest.mark.parametrize(
    "name",
    [
        "/opt/models/whisper-small",
        "~/models/small",
        "~nosuchuser/models/small",  # pathlib raised for a user this machine lacks
        "./small",
        "../models/small",
        "C:\\models\\small",
        "models/whisper/small",
    ],
)
def test_a_folder_written_as_a_path_that_is_not_there_is_refused(name: str) -> None:
    with pytest.raises(PermanentError) as caught:
        check_model_folder(name)
    assert caught.value.kind is ErrorKind.MODEL
    assert caught.value.message.startswith(f"--model {name}: no such folder")


def test_a_file_is_not_a_model_folder(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    with pytest.raises(PermanentError, match="is a file, not a model folder"):
        check_model_folder(str(path))
