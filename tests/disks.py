"""Running a real filesystem out of space (with the `small_disk` fixture of conftest.py)."""

from __future__ import annotations

from pathlib import Path


def fill_disk(disk: Path) -> Path:
    """Take every byte `disk` has left with one file; delete it to free the space again."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 4096)
        except OSError:  # full
            pass
    return filler
