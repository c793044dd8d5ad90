"""Which local files are media, and finding them inside folders."""

from __future__ import annotations

import os
import re
from pathlib import Path

MEDIA_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".oga", ".flac", ".webm", ".mp4",
        ".m4v", ".mkv", ".mov", ".avi", ".wma", ".aiff", ".aif", ".amr", ".3gp",
    }
)  # fmt: skip


def is_media_path(path: Path) -> bool:
    return path.suffix.lower() in MEDIA_EXTENSIONS


def find_media_files(folder: Path) -> list[Path]:
    """Media files below `folder`, resolved, in natural order, skipping hidden files and folders."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(
            Path(root, name)
            for name in files
            if not name.startswith(".") and is_media_path(Path(name))
        )
    found.sort(key=lambda p: _natural_key(p.relative_to(folder)))
    return [p.resolve() for p in found]


def _natural_key(relative: Path) -> list[tuple[int, str]]:
    # "episode 2" must come before "episode 10", as a file browser shows them.
    key: list[tuple[int, str]] = []
    for part in relative.parts:
        for chunk in re.split(r"(\d+)", part.casefold()):
            key.append((0, chunk.zfill(20)) if chunk.isdigit() else (1, chunk))
        key.append((-1, ""))  # ends a path component so folders group before siblings' names
    return key
