"""Reading text files whose encoding the user never chose on purpose."""

from __future__ import annotations

from pathlib import Path


def read_text(path: Path) -> tuple[str, str | None]:
    """The file's text and, when it was not UTF-8, a warning saying how it was read."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" as cp1252; replacing keeps the few undefined bytes readable.
        warning = f"{path.name} is not UTF-8; read it as cp1252"
        return data.decode("cp1252", errors="replace"), warning
