"""Fixtures shared by every test package: the bundled samples and ways to spoil them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bulk_transcribe.sources import silent_hosts
from tests.samples import SAMPLE_MEDIA, write_wav


@pytest.fixture(autouse=True)
def no_silent_hosts_from_earlier_tests() -> Iterator[None]:
    """A port a silent server had may serve another test's server next: the downloads'
    memory of hosts that never answered (per process, 5 minutes) starts empty each test."""
    silent_hosts._silent.clear()
    yield
    silent_hosts._silent.clear()


@pytest.fixture(scope="session", autouse=True)
def private_rate_limit_budgets(tmp_path_factory: pytest.TempPathFactory):
    """Request budgets are machine-wide by design; tests keep theirs to this test run."""
    path = tmp_path_factory.mktemp("budgets") / "rate_limits.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BULK_TRANSCRIBE_RATE_LIMIT_DB", str(path))
        yield path


@pytest.fixture(scope="session")
def sample_media() -> list[Path]:
    return SAMPLE_MEDIA


@pytest.fixture
def silence_wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "silence.wav", np.zeros(16_000 * 4, dtype=np.float32))


@pytest.fixture
def corrupt_mp3(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.mp3"
    path.write_bytes(b"ID3" + bytes(range(256)) * 40)
    return path


@pytest.fixture
def batch_folder(tmp_path: Path, sample_media: list[Path]) -> Path:
    """A folder of copies of the samples, so a batch has several real items."""
    folder = tmp_path / "batch"
    folder.mkdir()
    for media in sample_media:
        shutil.copy(media, folder / media.name)
    return folder


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB filesystem (tmpfs), to run out of space for real. Needs root to mount.

    Where it cannot be mounted the test fails, naming what to do: a disk-full test that
    skips quietly passes without testing. TESTS_WITHOUT_SMALL_DISK=1 skips them knowingly
    (a developer machine without root), never by default.
    """
    mount = tmp_path / "small_disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a 2 MB tmpfs here: {mounted.stderr.strip()}"
        if os.environ.get("TESTS_WITHOUT_SMALL_DISK") == "1":
            pytest.skip(reason)
        pytest.fail(
            f"{reason}; the disk-full tests need it: run the suite as root (in CI: with sudo "
            "or a privileged container), or set TESTS_WITHOUT_SMALL_DISK=1 to skip them "
            "knowingly",
            pytrace=False,
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
