"""What is already kept: the full-text index over every transcript, and the download cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bulk_transcribe.models import Session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.store.search_index import SearchIndex

__all__ = ["CacheUsage", "cache_usage", "clear_cache", "items_list", "open_search_index"]


def open_search_index(store: Store) -> SearchIndex:
    """The full-text index over every transcribed segment, reading older items' files and
    linking each hit to its moment of the source."""
    from bulk_transcribe.outputs.moments import moment_url
    from bulk_transcribe.outputs.readback import segments_from_files

    return SearchIndex(store, read=segments_from_files, link=moment_url)


@dataclass(frozen=True)
class CacheUsage:
    root: Path
    max_bytes: int
    files: int
    bytes: int
    by_folder: dict[str, tuple[int, int]]  # folder -> (files, bytes)


def _cache(out_dir: Path):
    from bulk_transcribe.sources.cache import DownloadCache  # yt-dlp's stack: only here

    return DownloadCache(out_dir / "cache", int(Settings(out_dir=out_dir).cache_max_mb * 1024**2))


def cache_usage(out_dir: Path) -> CacheUsage:
    """What the download cache of an output folder holds."""
    downloads = _cache(out_dir)
    usage = downloads.usage()
    return CacheUsage(
        downloads.root, downloads.max_bytes or 0, usage.files, usage.bytes, dict(usage.by_folder)
    )


def clear_cache(out_dir: Path) -> tuple[int, int]:
    """Empty the download cache; returns (files removed, bytes freed)."""
    return _cache(out_dir).clear()


def items_list(session: Session) -> Path | None:
    """The session's items.csv, once a run has written it (at its end); None before."""
    from bulk_transcribe.outputs.manifest import ITEMS_CSV_NAME  # only here: 60 ms of imports

    path = session.folder / ITEMS_CSV_NAME
    return path if path.exists() else None
