"""The end of a batch with failures says which command tries them again: a plain `resume`
for what may pass by itself (the network, a busy server), `--retry-failed` for the rest."""

from __future__ import annotations

import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from bulk_transcribe.cli.running import rerun_command
from tests.cli.test_lifecycle import env, media_folder
from tests.samples import REPO, SAMPLE_MEDIA

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


def test_a_stop_for_a_model_that_cannot_load_names_a_new_run_with_a_working_model(
    tmp_path: Path,
) -> None:
    """`resume` keeps the session's model, so after that stop it would fail the same way:
    the last line gives the run's own command with a model that loads, and that command
    works (the real CLI and the real faster-whisper, both times)."""
    for sample in (SAMPLE_MEDIA[1], SAMPLE_MEDIA[4]):  # two short clips (mp3, flac)
        shutil.copy(sample, tmp_path / sample.name)
    not_a_model = tmp_path / "my-model"
    not_a_model.mkdir()
    (not_a_model / "config.json").write_text("{}")
    inputs = [SAMPLE_MEDIA[1].name, SAMPLE_MEDIA[4].name]

    stopped = real_cli("run", *inputs, "--model", "./my-model", "--out", "out", cwd=tmp_path)

    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    last = " ".join(stopped.stdout.strip().splitlines()[-1].split())
    assert "resume" in last and "keeps the session's model" in last  # why not resume
    assert "bulk-transcribe resume" not in stopped.stdout
    command = re.search(r"`(bulk-transcribe run [^`]+)`", last)
    assert command is not None, last
    assert shlex.split(command.group(1)) == [
        "bulk-transcribe", "run", *inputs, "--model", "tiny.en", "--out", "out"
    ]  # fmt: skip

    again = real_cli(*shlex.split(command.group(1))[1:], cwd=tmp_path)

    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 done, 0 failed" in again.stdout


def real_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bulk_transcribe", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_new_run_keeps_every_word_of_the_command_but_the_model_and_hides_secrets() -> None:
    argv = ["bulk-transcribe", "run", "a b.txt", "https://x.org/e.mp3?token=SECRET", "-j", "2"]
    assert rerun_command([*argv, "--model=large-v3"], " --out o") == (
        "bulk-transcribe run 'a b.txt' 'https://x.org/e.mp3?token=***' -j 2 --model tiny.en"
    )
    assert rerun_command(argv, "").endswith("-j 2 --model tiny.en")  # the default failed
    # A resume (or the web app's job) does not hold the inputs: the form to fill in.
    assert rerun_command(["bulk-transcribe", "resume", "latest"], " --out o") == (
        "bulk-transcribe run INPUTS --model tiny.en --out o"
    )
