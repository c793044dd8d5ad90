"""The download cache's locks: one per link, across real processes and threads, on one file."""

from __future__ import annotations

import errno
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bulk_transcribe.errors import Cancelled
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import cache_locks
from bulk_transcribe.sources.cache import PARTIAL_SUFFIXES, DownloadCache
from bulk_transcribe.sources.cache_locks import key_locks
from bulk_transcribe.sources.download import LOCK_FILE, cache_path, cached_download
from tests.samples import EXAMPLES
from tests.sources.media_server import MediaServer, Route

MP3 = (EXAMPLES / "media" / "02_library_visit.mp3").read_bytes()[:8000]
SPAWN = multiprocessing.get_context("spawn")
WAIT = 60  # seconds a test waits for a child at most before it fails (never a measured time)


def _lock_file(out: Path) -> Path:
    return out / ".cache-locks" / LOCK_FILE


def _key(out: Path, url: str) -> str:
    target = cache_path(out / "cache", url)
    return f"{target.parent.name}/{target.name}"


def _calls_after_first(event: threading.Event | multiprocessing.synchronize.Event) -> Callable:
    """A cancel check that sets `event` once it is called again: its caller is waiting."""
    calls = [0]

    def check() -> None:
        calls[0] += 1
        if calls[0] >= 2:
            event.set()

    return check


def _download_in_child(out: str, url: str, waiting, results) -> None:
    path = cached_download(
        url,
        Path(out) / "cache",
        Settings(out_dir=Path(out), http_timeout=5),
        _calls_after_first(waiting),
    )
    results.put(path.read_bytes())


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the child never got there"
        time.sleep(0.02)


def test_two_processes_fetching_one_link_download_it_once(
    media_server: MediaServer, tmp_path: Path
) -> None:
    """Both wait while the link is locked elsewhere; then one downloads, the other finds it."""
    url = media_server.add("/shared.mp3", Route(MP3, "audio/mpeg"))
    results = SPAWN.Queue()
    waiting = [SPAWN.Event(), SPAWN.Event()]
    children = [
        SPAWN.Process(target=_download_in_child, args=(str(tmp_path), url, event, results))
        for event in waiting
    ]
    with key_locks(_lock_file(tmp_path)).hold(_key(tmp_path, url)):
        for child in children:
            child.start()
        for event in waiting:
            assert event.wait(WAIT), "a child never reached the lock"
        assert media_server.requests_to("/shared.mp3") == []  # both are held off
    fetched = [results.get(timeout=WAIT) for _ in children]
    for child in children:
        child.join(WAIT)
        assert child.exitcode == 0

    assert fetched == [MP3, MP3]
    assert len(media_server.requests_to("/shared.mp3")) == 1


def test_a_killed_download_leaves_nothing_cached_and_its_lock_free(
    media_server: MediaServer, tmp_path: Path
) -> None:
    url = media_server.add("/killed.mp3", Route(MP3, "audio/mpeg", trickle_seconds=0.002))
    target = cache_path(tmp_path / "cache", url)
    waiting, results = SPAWN.Event(), SPAWN.Queue()  # kept: the child unpickles them later
    child = SPAWN.Process(target=_download_in_child, args=(str(tmp_path), url, waiting, results))
    child.start()
    partials = lambda: [p for p in target.parent.glob("*") if p.stat().st_size]  # noqa: E731
    _wait_for(lambda: target.parent.is_dir() and bool(partials()))
    child.kill()  # SIGKILL: no cleanup of its own runs
    child.join(WAIT)

    assert not target.exists()
    assert all(p.name.endswith(PARTIAL_SUFFIXES) for p in target.parent.iterdir())
    assert not DownloadCache(tmp_path / "cache").hit(target)
    media_server.add("/killed.mp3", Route(MP3, "audio/mpeg"))  # served at once from now on
    settings = Settings(out_dir=tmp_path, http_timeout=5)
    # The kernel dropped the dead process's lock: this download does not wait for it.
    assert cached_download(url, tmp_path / "cache", settings).read_bytes() == MP3
    assert len(media_server.requests_to("/killed.mp3")) == 2


def test_threads_of_one_process_take_turns_on_one_key(tmp_path: Path) -> None:
    assert_threads_take_turns(key_locks(_lock_file(tmp_path)))


def assert_threads_take_turns(locks: cache_locks.KeyLocks) -> None:
    """A second thread waits for a key the first holds, and gets it once it is let go."""
    waiting, entered = threading.Event(), threading.Event()

    def second() -> None:
        with locks.hold("http/abc.mp3", _calls_after_first(waiting)):
            entered.set()

    with locks.hold("http/abc.mp3"):
        thread = threading.Thread(target=second)
        thread.start()
        assert waiting.wait(WAIT)
        assert not entered.is_set()
    thread.join(WAIT)
    assert entered.is_set()


def test_different_links_never_wait_for_each_other(tmp_path: Path) -> None:
    """One lock per link: no stripes shared by unrelated links, in this process or another."""
    locks = key_locks(_lock_file(tmp_path))
    keys = [f"http/{n:04d}.mp3" for n in range(5000)]  # more than the 4,096 stripes of before
    with locks.hold(keys[0]):
        done = []

        def take_the_others() -> None:
            for key in keys[1:]:
                with locks.hold(key, _refuse_to_wait()):
                    pass
            done.append(True)

        thread = threading.Thread(target=take_the_others)
        thread.start()
        thread.join(WAIT)
    assert done == [True]


def _refuse_to_wait() -> Callable[[], None]:
    """A cancel check that cancels as soon as its caller has to wait."""
    calls = [0]

    def check() -> None:
        calls[0] += 1
        if calls[0] >= 2:
            raise Cancelled("had to wait")

    return check


def test_a_cancel_ends_the_wait_and_leaves_the_lock_usable(tmp_path: Path) -> None:
    locks = key_locks(_lock_file(tmp_path))
    with locks.hold("http/busy.mp3"):
        errors: list[BaseException] = []

        def waiter() -> None:
            try:
                with locks.hold("http/busy.mp3", _refuse_to_wait()):
                    pass
            except Cancelled as exc:
                errors.append(exc)

        thread = threading.Thread(target=waiter)
        thread.start()
        thread.join(WAIT)
        assert [type(e) for e in errors] == [Cancelled]
    with locks.hold("http/busy.mp3", _refuse_to_wait()):
        pass  # free again: the cancelled waiter took nothing with it


def test_without_file_locks_threads_still_take_turns_and_the_user_is_told(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    """Some network file systems refuse record locks: downloads must still work."""

    def refused(*args) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(cache_locks.fcntl, "lockf", refused)
    locks = cache_locks.KeyLocks(_lock_file(tmp_path))  # its own, not this process's shared one
    with caplog.at_level(logging.WARNING):
        assert_threads_take_turns(locks)
    assert "no file locks" in caplog.text


def test_lock_files_of_earlier_versions_are_deleted_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / ".cache-locks"
    folder.mkdir()
    earlier = ["0000.lock", "4095.lock", "http-0a1b2c.mp3.lock"]  # striped, then one per link
    for name in [*earlier, "notes.txt", "ledger.lock"]:
        (folder / name).write_bytes(b"")
    locks = key_locks(folder / LOCK_FILE)
    with locks.hold("http/0a1b2c.mp3"):
        pass
    # Only names earlier versions gave their lock files go.
    assert sorted(p.name for p in folder.iterdir()) == [LOCK_FILE, "ledger.lock", "notes.txt"]
