"""The download cache's bookkeeping: counted as files arrive, shared by processes, never a walk
per download, and right again after files vanish behind its back."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from bulk_transcribe.sources.cache import IN_USE_SECONDS, DownloadCache
from bulk_transcribe.sources.cache_index import ledger_for

KB = 1024


def put(cache: DownloadCache, name: str, size: int, *, aged: float | None = None) -> Path:
    """A finished download of `size` bytes, as a source hands it to the cache."""
    path = cache.root / "http" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\1" * size)
    cache.added(path)
    if aged is not None:  # used this long ago: old enough to be evicted
        stamp = time.time() - aged
        os.utime(path, (stamp, stamp))
    return path


def files_on_disk(root: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in root.rglob("*") if p.is_file()}


def ledger_total(cache: DownloadCache) -> int:
    return ledger_for(cache.ledger_path).total()


def test_adding_a_download_never_walks_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = DownloadCache(tmp_path / "cache", max_bytes=100 * KB)
    put(cache, "first.mp3", 10 * KB)  # the ledger is created (and filled) here

    def walk() -> None:
        raise AssertionError("the cache was walked for a download")

    monkeypatch.setattr(DownloadCache, "entries", lambda self: walk())
    for n in range(20):
        put(cache, f"ep{n}.mp3", 2 * KB)
        assert cache.hit(cache.root / "http" / f"ep{n}.mp3")
    assert ledger_total(cache) == 50 * KB


def test_over_the_cap_the_least_recently_used_go_first(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path / "cache", max_bytes=25 * KB)
    long_ago = 2 * IN_USE_SECONDS
    oldest = put(cache, "a.mp3", 10 * KB, aged=long_ago)
    middle = put(cache, "b.mp3", 10 * KB, aged=long_ago)
    assert cache.hit(oldest)  # a is used again: b is now the least recently used
    os.utime(oldest, (time.time() - long_ago, time.time() - long_ago))
    newest = put(cache, "c.mp3", 10 * KB)
    assert oldest.exists() and newest.exists()
    assert not middle.exists()
    assert ledger_total(cache) == 20 * KB


def test_files_in_use_are_never_evicted_even_over_the_cap(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path / "cache", max_bytes=15 * KB)
    first = put(cache, "a.mp3", 10 * KB)  # used just now: a worker may be decoding it
    second = put(cache, "b.mp3", 10 * KB)
    assert first.exists() and second.exists()
    assert ledger_total(cache) == 20 * KB


def test_files_deleted_behind_its_back_are_dropped_from_the_count(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path / "cache", max_bytes=30 * KB)
    gone = [put(cache, f"gone{n}.mp3", 10 * KB, aged=2 * IN_USE_SECONDS) for n in range(2)]
    kept = put(cache, "kept.mp3", 5 * KB, aged=2 * IN_USE_SECONDS)
    for path in gone:
        path.unlink()  # the user cleaned up by hand; the ledger still counts 25 KB
    newest = put(cache, "new.mp3", 10 * KB)  # 35 KB by the ledger: over the cap
    assert kept.exists() and newest.exists()  # only a vanished row was let go
    assert ledger_total(cache) == 25 * KB  # back under the cap: one vanished row is enough
    usage = cache.usage()  # the walk of `bulk-transcribe cache` sets the ledger right
    assert (usage.files, usage.bytes) == (2, 15 * KB)
    assert ledger_total(cache) == 15 * KB
    assert not cache.hit(gone[0])


def test_the_cache_command_counts_what_is_on_disk_and_resets_the_ledger(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path / "cache", max_bytes=None)
    put(cache, "a.mp3", 3 * KB)
    (cache.root / "youtube").mkdir()
    (cache.root / "youtube" / "v.webm").write_bytes(b"\1" * KB)  # not through the ledger
    usage = cache.usage()
    assert (usage.files, usage.bytes) == (2, 4 * KB)
    assert ledger_total(cache) == 4 * KB
    assert cache.clear() == (2, 4 * KB)
    assert ledger_total(cache) == 0


def test_a_cache_from_before_the_ledger_is_counted_on_first_use(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / "http").mkdir(parents=True)
    for n in range(3):
        (root / "http" / f"old{n}.mp3").write_bytes(b"\1" * 4 * KB)
    cache = DownloadCache(root, max_bytes=None)
    put(cache, "new.mp3", KB)
    assert ledger_total(cache) == 13 * KB


def _add_many(root: str, prefix: str, count: int, max_bytes: int, ready) -> None:
    cache = DownloadCache(Path(root), max_bytes=max_bytes)
    ready.wait()
    for n in range(count):
        path = put(cache, f"{prefix}{n}.mp3", KB + n)
        stamp = time.time() - 2 * IN_USE_SECONDS  # old at once, so evictions happen
        os.utime(path, (stamp, stamp))


def test_two_processes_adding_at_once_keep_one_true_count_under_the_cap(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    cap = 40 * KB
    workers = [
        context.Process(target=_add_many, args=(str(root), prefix, 60, cap, ready))
        for prefix in ("a", "b")
    ]
    for worker in workers:
        worker.start()
    ready.set()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    on_disk = files_on_disk(root)
    cache = DownloadCache(root, max_bytes=cap)
    assert ledger_total(cache) == sum(on_disk.values())
    # Each process may add one file past the cap before its own eviction runs.
    assert sum(on_disk.values()) <= cap + 2 * (KB + 60)


def test_a_download_whose_size_is_known_is_counted_without_looking_at_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = DownloadCache(tmp_path / "cache", max_bytes=100 * KB)
    put(cache, "first.mp3", 10 * KB)  # the ledger is made here
    path = cache.root / "http" / "second.mp3"
    path.write_bytes(b"\1" * 3 * KB)

    looked: list[object] = []
    real_utime, real_stat = os.utime, os.stat

    def utime(target: object, *args: object, **kwargs: object) -> None:
        looked.append(target)
        real_utime(target, *args, **kwargs)  # type: ignore[arg-type]

    def stat(target: object, *args: object, **kwargs: object) -> os.stat_result:
        looked.append(target)
        return real_stat(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "utime", utime)
    monkeypatch.setattr(os, "stat", stat)
    cache.added(path, 3 * KB)
    monkeypatch.undo()
    assert looked == []
    assert ledger_total(cache) == 13 * KB
    assert cache.hit(path)


def test_a_folder_where_a_download_would_be_is_not_a_hit(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path / "cache", max_bytes=100 * KB)
    odd = cache.root / "http" / "ep.mp3"
    (odd / "inside").mkdir(parents=True)
    assert not cache.hit(odd)
