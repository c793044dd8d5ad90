"""The end of a batch with failures says which command tries them again: a plain `resume`
for what may pass by itself (the network, a busy server), `--retry-failed` for the rest."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.cli.test_lifecycle import env, media_folder
from tests.samples import REPO

SCRIPTED_CLI = [sys.executable, "-m", "tests.fakes.scripted_cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SCRIPTED_CLI, *args], cwd=REPO, env=env(), capture_output=True, text=True, timeout=300
    )


def closed_port_link() -> str:
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/episode.mp3"


def test_failures_that_may_pass_are_counted_and_a_plain_resume_is_named(tmp_path: Path) -> None:
    media = media_folder(tmp_path, ["good"])
    (media / "broken.mp3").write_bytes(b"ID3" + bytes(range(256)) * 40)
    out = tmp_path / "out"

    done = run("run", str(media), closed_port_link(), "--engine", "scripted", "--out", str(out))

    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join(done.stdout.split())  # the terminal wraps long lines
    assert "1 of the 2 failed items failed for reasons that may pass" in text
    assert "tries them again; add --retry-failed to try every failed item." in text
    session_id = next((out / "sessions").iterdir()).name
    resumed = run("resume", session_id, "--out", str(out))
    assert "1 done, 2 failed" in resumed.stdout
    assert "1 of the 2 failed items" in " ".join(resumed.stdout.split())


def test_failures_only_the_user_can_fix_point_at_retry_failed(tmp_path: Path) -> None:
    media = media_folder(tmp_path, ["good"])
    (media / "broken.mp3").write_bytes(b"ID3" + bytes(range(256)) * 40)
    out = tmp_path / "out"

    done = run("run", str(media), "--engine", "scripted", "--out", str(out))

    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert "Fix what the problems above name, then `bulk-transcribe resume" in text
    assert "--retry-failed` tries the 1 failed item again; finished ones are kept." in text
