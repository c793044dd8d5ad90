"""Write a file so that readers see either the old content or the new, never half of it."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from bulk_transcribe.errors import disk_full, is_disk_full

_TEMP_NAME_MAX_BYTES = 120  # keeps `.<name>.<random>.tmp` under the usual 255-byte limit
_TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")  # what _create_temp names
# A write takes well under this: a temporary file older is what a killed process left.
ABANDONED_TEMP_SECONDS = 60.0


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_unless_edited(path: Path, text: str, *, was: str | None = None) -> bool:
    """Write `text` to `path` unless someone changed the file since this program wrote it
    (a note edited in Obsidian): only a missing file, one that already reads `text`, or one
    that still reads `was` (what was written there before, when known) is replaced. Returns
    whether the file now holds `text`; False keeps it as it is."""
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    except (UnicodeDecodeError, IsADirectoryError):
        return False  # not a file this program wrote
    if current is not None and current != text and current != was:
        return False
    if current != text:
        atomic_write_text(path, text)
    return True


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write_chunks(path, [data])


def atomic_write_chunks(path: Path, chunks: Iterable[bytes]) -> None:
    """Like atomic_write_bytes, for content made piece by piece (a file too big to hold)."""
    path = Path(path)
    temp: Path | None = None
    try:
        temp, fd = _create_temp(path)
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            # Without fsync a crash after os.replace can leave an empty file behind.
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        if temp is not None:
            temp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full(f"writing {path}") from exc
        raise


def _create_temp(path: Path) -> tuple[Path, int]:
    """Create the temp file beside the target, so os.replace stays on one filesystem."""
    short_name = path.name.encode("utf-8")[:_TEMP_NAME_MAX_BYTES].decode("utf-8", "ignore")
    while True:
        temp = path.with_name(f".{short_name}.{secrets.token_hex(4)}.tmp")
        try:
            # Mode 0o666 lets the umask decide permissions, unlike mkstemp's 0o600.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return temp, fd


def remove_abandoned_temps(folder: Path, older_than: float = ABANDONED_TEMP_SECONDS) -> int:
    """Delete the temporary files of atomic writes a killed process left in `folder` (never
    an output); those of writes under way now are younger and kept. Returns how many."""
    removed = 0
    cutoff = time.time() - older_than
    try:
        candidates = [p for p in Path(folder).iterdir() if _TEMP_NAME.match(p.name)]
    except OSError:  # no folder yet
        return 0
    for path in candidates:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
