"""Which local files are media, and finding them inside folders."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from bulk_transcribe.media import MEDIA_EXTENSIONS, describe_file_type

# What an output folder holds beside its download cache "cache/": the database, the cache's
# ledger and its locks (sources/cache.py, sources/download.py).
_DOWNLOAD_CACHE = "cache"
_OUTPUT_MARKERS = frozenset(
    {"bulk_transcribe.db", f".{_DOWNLOAD_CACHE}-ledger.sqlite", ".cache-locks"}
)


def is_media_path(path: Path) -> bool:
    return path.suffix.lower() in MEDIA_EXTENSIONS


def undecodable_name(path: Path) -> str | None:
    """Why `path` cannot be an item when its name is not UTF-8 (bytes a Windows or an old
    Linux system wrote in another encoding), shown with those bytes escaped; else None.
    Such a name cannot be stored or written out, and it stopped the whole run."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return (
            "its name is not UTF-8 text (written in another system's encoding): rename the "
            "file, e.g. in a file manager, and run it again"
        )
    return None


def printable_path(path: Path) -> str:
    """`path` as text that can be shown and stored, undecodable bytes as \\xNN."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def special_file_type(path: Path) -> str | None:
    """What `path` is when it is not a regular file (a pipe, a device), else None.

    Such files must never be opened: reading a named pipe waits for a writer forever.
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else describe_file_type(mode)


def find_media_files(folder: Path, special: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Media files below `folder`, resolved, in natural order, skipping hidden files and folders.

    Media-named pipes, devices, sockets and broken links are left out, and listed in
    `special` when given.
    """
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        if _OUTPUT_MARKERS.intersection([*dirs, *files]):
            # This program's own output folder (`run .` where the last run wrote): its
            # download cache holds earlier runs' media under hashed names, to reuse, not
            # to transcribe again as new local files.
            dirs[:] = [d for d in dirs if d != _DOWNLOAD_CACHE]
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(root, name)
            if name.startswith(".") or not is_media_path(path):
                continue
            kind = special_file_type(path) or _broken_link(path)
            if kind is None:
                found.append(path)
            elif special is not None:
                special.append((path, kind))
    found.sort(key=lambda p: _natural_key(p.relative_to(folder)))
    return [p.resolve() for p in found]


def _broken_link(path: Path) -> str | None:
    """What a symbolic link to nothing is (its target was moved or deleted), else None."""
    if path.exists() or not path.is_symlink():
        return None
    try:
        return f"a broken link (to {os.readlink(path)}, which is not there)"
    except OSError:
        return "a broken link"


def _natural_key(relative: Path) -> list[tuple[int, str]]:
    # "episode 2" must come before "episode 10", as a file browser shows them.
    key: list[tuple[int, str]] = []
    for part in relative.parts:
        for chunk in re.split(r"(\d+)", part.casefold()):
            key.append((0, chunk.zfill(20)) if chunk.isdigit() else (1, chunk))
        key.append((-1, ""))  # ends a path component so folders group before siblings' names
    return key
