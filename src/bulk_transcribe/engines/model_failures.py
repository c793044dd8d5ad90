"""Which choice a model failure is about (the speech model, the device or compute type it runs
with, a speaker-label model), said in its message, so the fix named after a stop changes the
option that failed rather than the speech model every time (errors.ModelFailure)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from bulk_transcribe.errors import ErrorKind, ModelFailure, ModelPart, PermanentError

# CTranslate2's words for a compute type the device lacks ("Requested float16 compute type,
# but the target device or backend do not support ...") or does not know ("Invalid compute
# type: ..."); and for a GPU whose CUDA cannot start (driver, runtime, libraries).
_COMPUTE_TYPE_REFUSED = re.compile(r"compute type", re.IGNORECASE)
_CUDA_BROKEN = re.compile(r"cuda|cublas|cudnn|driver|gpu", re.IGNORECASE)
WORKING_COMPUTE_TYPE = "int8"  # the default: every CPU CTranslate2 runs on has it


def load_failure(name: str, compute_type: str, device: str, exc: Exception) -> ModelFailure:
    """What a failed load of the Whisper model `name` was about, from the library's words:
    the compute type, the GPU, or else the model itself."""
    text = str(exc)
    if _COMPUTE_TYPE_REFUSED.search(text):
        return ModelFailure(
            ModelPart.COMPUTE_TYPE,
            compute_type,
            f"the {device.upper() if device == 'cpu' else 'GPU'} here cannot compute in it "
            f"({text}); set the compute type to {WORKING_COMPUTE_TYPE} "
            f"(BULK_TRANSCRIBE_COMPUTE_TYPE={WORKING_COMPUTE_TYPE}, in the environment or .env)",
        )
    if device == "cuda" and _CUDA_BROKEN.search(text):
        return ModelFailure(
            ModelPart.DEVICE,
            device,
            f"the GPU cannot be used ({text}); use --device cpu, or repair the CUDA install",
        )
    return ModelFailure(
        ModelPart.SPEECH,
        name,
        f"could not load the model ({text}). Use the bundled default (--model tiny.en), a "
        "local CTranslate2 model folder, or connect to the internet once so the named model "
        "can be downloaded.",
    )


@contextmanager
def failing_as(part: ModelPart, choice: str | None = None) -> Iterator[None]:
    """A model error raised inside (a speaker model's missing package or damaged weights)
    is about `part`: raised again as a ModelFailure saying so."""
    try:
        yield
    except ModelFailure:
        raise
    except PermanentError as exc:
        if exc.kind is not ErrorKind.MODEL:
            raise
        raise ModelFailure(part, choice, exc.message) from exc
