"""The download cache (OUT/cache): media kept so a resumed session does not download it again,
within a size cap, least recently used first out.

"Used" is the file's modification time, set on every hit: access times are unreliable
(noatime mounts) and a cached file is never modified once complete.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from bulk_transcribe.errors import PermanentError

# Files of downloads in progress (ours and yt-dlp's): never counted, evicted or cleared young.
PARTIAL_SUFFIXES = (".part", ".ytdl", ".tmp")
# A file used this recently may be in a worker's hands (decoding); eviction leaves it alone.
IN_USE_SECONDS = 15 * 60
STALE_PARTIAL_SECONDS = 60 * 60


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    size: int
    last_used: float  # epoch seconds


@dataclass(frozen=True)
class CacheUsage:
    files: int
    bytes: int
    by_folder: dict[str, tuple[int, int]]  # folder -> (files, bytes)


class DownloadCache:
    def __init__(self, root: Path, max_bytes: int | None = None):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path_for(self, url: str, folder: str = "http") -> Path:
        """One file per URL, so a resumed session finds what an earlier run downloaded."""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
        suffix = Path(urlparse(url).path).suffix.lower()
        return self.root / folder / f"{digest}{suffix if 1 < len(suffix) <= 6 else ''}"

    def hit(self, path: Path) -> bool:
        """Whether `path` is cached; a hit counts as a use."""
        try:
            os.utime(path)
        except OSError:
            return False
        return path.is_file() and path.stat().st_size > 0

    def added(self, path: Path) -> None:
        """A download finished at `path`: mark it used, then keep the cache under its cap."""
        self.hit(path)
        self.prune(keep=[path])

    def forget(self, path: Path) -> None:
        """Drop a cached file that turned out to be unusable, so the next try downloads again."""
        for stale in (path, path.with_name(path.name + ".part")):
            stale.unlink(missing_ok=True)

    def entries(self) -> list[CacheEntry]:
        """Complete cached files, least recently used first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*"):
            if path.name.endswith(PARTIAL_SUFFIXES):
                continue
            try:
                info = path.stat()
            except OSError:  # removed meanwhile
                continue
            if path.is_file():
                found.append(CacheEntry(path, info.st_size, info.st_mtime))
        return sorted(found, key=lambda e: e.last_used)

    def usage(self) -> CacheUsage:
        by_folder: dict[str, tuple[int, int]] = {}
        for entry in self.entries():
            folder = entry.path.relative_to(self.root).parts[0]
            files, size = by_folder.get(folder, (0, 0))
            by_folder[folder] = (files + 1, size + entry.size)
        return CacheUsage(
            files=sum(f for f, _ in by_folder.values()),
            bytes=sum(b for _, b in by_folder.values()),
            by_folder=by_folder,
        )

    def prune(self, keep: Iterable[Path] = ()) -> tuple[int, int]:
        """Evict least recently used files until under the cap; returns (files, bytes) freed."""
        if self.max_bytes is None:
            return 0, 0
        kept = {Path(p) for p in keep}
        entries = self.entries()
        total = sum(e.size for e in entries)
        young = time.time() - IN_USE_SECONDS
        removed = freed = 0
        for entry in entries:
            if total <= self.max_bytes:
                break
            if entry.path in kept or entry.last_used > young:
                continue
            entry.path.unlink(missing_ok=True)
            total -= entry.size
            removed, freed = removed + 1, freed + entry.size
        return removed, freed

    def clear(self) -> tuple[int, int]:
        """Delete every complete file, and partial ones left by crashed runs; (files, bytes)."""
        removed = freed = 0
        stale = time.time() - STALE_PARTIAL_SECONDS
        if not self.root.is_dir():
            return 0, 0
        for path in sorted(self.root.rglob("*"), reverse=True):
            try:
                info = path.stat()
                if path.is_dir():
                    if not any(path.iterdir()):
                        path.rmdir()
                    continue
                if path.name.endswith(PARTIAL_SUFFIXES) and info.st_mtime > stale:
                    continue  # a download in progress right now
                path.unlink()
            except OSError:
                continue
            removed, freed = removed + 1, freed + info.st_size
        return removed, freed


def unusable_download(
    cache_dir: Path, path: Path, source: str, exc: PermanentError
) -> PermanentError:
    """An engine could not decode a cached download: drop it, so the next try downloads it
    again, and name the link the user gave instead of the cache file."""
    cache = DownloadCache(cache_dir)
    if cache.root.resolve() not in path.resolve().parents:
        return exc  # the user's own file: never deleted
    cache.forget(path)
    return PermanentError(exc.kind, exc.message.replace(path.name, source))
