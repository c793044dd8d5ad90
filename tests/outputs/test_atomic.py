"""atomic_write_*: readers see the old file or the new one, and a full disk says so."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.outputs import atomic_write_bytes, atomic_write_text


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_writes_text_as_utf8(tmp_path: Path) -> None:
    target = tmp_path / "note.md"
    atomic_write_text(target, "héllo ✓\n")
    assert target.read_bytes() == "héllo ✓\n".encode()
    assert _leftovers(tmp_path) == []


def test_replaces_existing_content(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"


def test_temp_file_lives_beside_target_with_hidden_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        seen.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(tmp_path / "out.txt", "x")
    [(src, dst)] = seen
    assert Path(src).parent == tmp_path
    assert Path(src).name.startswith(".out.txt.")
    assert src.endswith(".tmp")
    assert dst == str(tmp_path / "out.txt")


def test_failure_mid_write_keeps_old_content_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("old")

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError) as raised:
        atomic_write_text(target, "new")
    assert not isinstance(raised.value, PermanentError)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_disk_full_on_replace_becomes_permanent_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "talk.srt"
    target.write_text("old")

    def full(src: str | Path, dst: str | Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(PermanentError) as raised:
        atomic_write_text(target, "new")
    error = raised.value
    assert error.kind is ErrorKind.DISK_FULL
    assert "disk full while writing" in error.message and "talk.srt" in error.message
    assert "free some space" in error.message
    assert isinstance(error.__cause__, OSError)
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_disk_full_during_write_is_mapped_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(PermanentError) as raised:
        atomic_write_bytes(tmp_path / "x.json", b"{}")
    assert raised.value.kind is ErrorKind.DISK_FULL
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_an_error_not_silently_created(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "nope" / "x.txt", "x")
