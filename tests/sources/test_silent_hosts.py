"""A host that never answers a download costs one link's timeouts, not every link's."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_transcribe.errors import ErrorKind, TransientError
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import silent_hosts
from bulk_transcribe.sources.download import download
from tests.samples import EXAMPLES
from tests.sources.media_server import Route, running_server, silent_listener

MP3 = (EXAMPLES / "media" / "02_library_visit.mp3").read_bytes()


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    with silent_listener() as server:
        yield server


def test_the_other_links_of_a_host_that_never_answered_two_fail_at_once(
    silent_server: tuple[str, list[socket.socket]], tmp_path: Path
) -> None:
    base, taken = silent_server
    settings = Settings(out_dir=tmp_path, http_timeout=1, download_stall_seconds=1)
    for n in (1, 2):  # one silent link may be that link's trouble: both are tried in full
        with pytest.raises(TransientError) as silent:
            download(f"{base}/ep{n}.mp3", tmp_path / f"ep{n}.mp3", settings)
        assert silent.value.kind is ErrorKind.TIMEOUT
        assert "sent nothing for" not in silent.value.message
    tries = len(taken)
    assert tries >= 2

    for n in (3, 4):
        with pytest.raises(TransientError) as other:
            download(f"{base}/ep{n}.mp3", tmp_path / f"ep{n}.mp3", settings)
        assert other.value.kind is ErrorKind.TIMEOUT  # a resume tries it again
        assert "sent nothing for 2 other links a moment ago" in other.value.message
    assert len(taken) == tries  # not one more connection


def test_one_link_that_hangs_leaves_the_hosts_other_links_alone(
    silent_server: tuple[str, list[socket.socket]], tmp_path: Path
) -> None:
    base, _ = silent_server
    settings = Settings(out_dir=tmp_path, http_timeout=1, download_stall_seconds=1)
    with pytest.raises(TransientError):
        download(f"{base}/stuck.mp3", tmp_path / "stuck.mp3", settings)
    silent_hosts.refuse_if_silent(f"{base}/other.mp3")  # not refused: asked as usual


def test_a_host_that_answers_slowly_is_not_taken_for_a_silent_one(tmp_path: Path) -> None:
    with running_server() as server:
        trickle = server.add("/slow.mp3", Route(MP3, "audio/mpeg", trickle_seconds=1))
        fine = server.add("/fine.mp3", Route(MP3, "audio/mpeg"))
        settings = Settings(out_dir=tmp_path, http_timeout=0.3, download_stall_seconds=0.3)
        with pytest.raises(TransientError):
            download(trickle, tmp_path / "slow.mp3", settings)  # answered, then stalled
        assert download(fine, tmp_path / "fine.mp3", settings) == len(MP3)
