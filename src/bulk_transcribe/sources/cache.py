"""The download cache (OUT/cache): media kept so a resumed session does not download it again,
within a size cap, least recently used first out.

"Used" is the file's modification time, set on every hit: access times are unreliable
(noatime mounts) and a cached file is never modified once complete. Sizes and the order of
use are kept in a ledger beside the cache (cache_index.py), so a download never walks the
cache; the walk is left to `bulk-transcribe cache`, which also brings the ledger up to date.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.sources.cache_index import CacheLedger, LedgerRow, ledger_for

log = logging.getLogger(__name__)

# Files of downloads in progress (ours and yt-dlp's): never counted, evicted or cleared young.
PARTIAL_SUFFIXES = (".part", ".ytdl", ".tmp")
# A file used this recently may be in a worker's hands (decoding); eviction leaves it alone.
IN_USE_SECONDS = 15 * 60
STALE_PARTIAL_SECONDS = 60 * 60
T = TypeVar("T")


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

    @property
    def ledger_path(self) -> Path:
        """Beside the cache folder, not in it: the folder holds media files only."""
        return self.root.parent / f".{self.root.name}-ledger.sqlite"

    def hit(self, path: Path) -> bool:
        """Whether `path` is cached; a hit counts as a use."""
        try:
            os.utime(path)
            info = path.stat()
        except OSError:
            return False
        if not stat.S_ISREG(info.st_mode) or info.st_size <= 0:
            return False
        self._with_ledger(lambda ledger: ledger.touch(self._key(path), info.st_size, time.time()))
        return True

    def added(self, path: Path, size: int | None = None) -> None:
        """A download finished at `path`: mark it used and count it, then keep the cache
        under its cap (only a cache over its cap looks at other files). `size`: the caller
        has just written the file whole and knows its size (its time of use is then the
        time it was written); else the file is looked at."""
        if size is None:
            try:
                os.utime(path)
                size = path.stat().st_size
            except OSError:
                return
        total = self._with_ledger(lambda ledger: ledger.record(self._key(path), size, time.time()))
        if total is None:  # no ledger: the slow, sure way
            self._prune_by_walking(keep=[path])
        elif self.max_bytes is not None and total > self.max_bytes:
            self.prune(keep=[path])

    def forget(self, path: Path) -> None:
        """Drop a cached file that turned out to be unusable, so the next try downloads again."""
        for stale in (path, path.with_name(path.name + ".part")):
            stale.unlink(missing_ok=True)
        self._with_ledger(lambda ledger: ledger.drop(self._key(path)))

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
        """What the cache holds, from a walk (the ledger is brought up to date with it)."""
        entries = self.entries()
        self._with_ledger(lambda ledger: ledger.reconcile(self._rows(entries)))
        by_folder: dict[str, tuple[int, int]] = {}
        for entry in entries:
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
        max_bytes = self.max_bytes
        kept = {Path(p) for p in keep}
        young = time.time() - IN_USE_SECONDS

        def remove(row: LedgerRow) -> bool | None:
            path = self.root / row.path
            try:
                used = path.stat().st_mtime  # set on every hit, by any process
            except FileNotFoundError:
                return None  # deleted behind the ledger's back: only the row goes
            if path in kept or used > young:
                return False
            path.unlink(missing_ok=True)
            return True

        freed = self._with_ledger(lambda ledger: ledger.evict(max_bytes, remove))
        return freed if freed is not None else self._prune_by_walking(keep)

    def _prune_by_walking(self, keep: Iterable[Path] = ()) -> tuple[int, int]:
        """Eviction without the ledger (it could not be opened): walks the whole cache."""
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
        self._with_ledger(lambda ledger: ledger.reconcile(self._rows(self.entries())))
        return removed, freed

    # --- the ledger ---------------------------------------------------------------------

    def _key(self, path: Path) -> str:
        return Path(path).relative_to(self.root).as_posix()

    def _rows(self, entries: Iterable[CacheEntry]) -> list[LedgerRow]:
        return [LedgerRow(self._key(e.path), e.size, e.last_used) for e in entries]

    def _with_ledger(self, use: Callable[[CacheLedger], T]) -> T | None:
        """`use(ledger)`, or None when the ledger cannot be used (a read-only folder, a
        damaged file): the cache then works as before it had one, by walking."""
        try:
            ledger = ledger_for(self.ledger_path)
            ledger.ensure_built(lambda: self._rows(self.entries()))
            return use(ledger)
        except (sqlite3.Error, OSError, ValueError) as exc:
            log.debug("download cache ledger %s unusable: %s", self.ledger_path, exc)
            return None


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
