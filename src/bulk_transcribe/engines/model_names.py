"""What a local `--model` value names, checked before a session is stored: a folder given
that is not there would otherwise fail every item of the batch, one by one."""

from __future__ import annotations

import re
from pathlib import Path

from bulk_transcribe.errors import ErrorKind, PermanentError

# Written as a path, not a hub name ("Systran/faster-whisper-small" has one slash and no
# leading dot): absolute, home-relative, ./ or ../, a Windows drive or backslash, or with
# more folders than a hub name's one.
_PATH_LIKE = re.compile(r"^(?:/|~|\.{1,2}[/\\]|[A-Za-z]:[/\\])|\\|/.*/")
_ADVICE = (
    "give a CTranslate2 model folder, a Whisper name such as small or large-v3, or leave "
    "--model out for the bundled tiny.en"
)


def check_model_folder(name: str) -> None:
    """Raise PermanentError when `name` is written as a path to a model folder that is not
    one; names of downloadable models are left to the engine."""
    try:
        path = Path(name).expanduser()
    except RuntimeError:  # "~name/…" naming no user of this machine: a folder that is not
        path = Path(name)
    if path.is_dir():
        return
    if path.exists():
        raise PermanentError(
            ErrorKind.MODEL, f"--model {name} is a file, not a model folder: {_ADVICE}"
        )
    if _PATH_LIKE.search(name):
        raise PermanentError(ErrorKind.MODEL, f"--model {name}: no such folder; {_ADVICE}")
