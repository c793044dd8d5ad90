"""`run --summarize` and `summarize SESSION` from the command line, the chat model on
127.0.0.1 and the scripted engine doing the speech part."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import yaml

from tests.fakes.chat_server import FakeChatServer
from tests.samples import REPO, SAMPLE_MEDIA

ANSWER = json.dumps(
    {
        "summary": "Scripted words.",
        "key_points": ["Words"],
        "chapters": [{"start": 0, "title": "All"}],
    }
)


def cli(tmp_path: Path, *args: str, chat: FakeChatServer | None = None):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_CHAT")},
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        "COLUMNS": "200",
        "BULK_TRANSCRIBE_RATE_LIMIT_DB": str(tmp_path / "budgets.sqlite"),
    }
    if chat is not None:
        env |= {"BULK_TRANSCRIBE_CHAT_API_BASE": chat.base_url, "BULK_TRANSCRIBE_CHAT_MODEL": "m"}
    return subprocess.run(
        [sys.executable, "-m", "tests.fakes.scripted_cli", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip


def frontmatter(out: Path) -> dict:
    (note,) = out.glob("sessions/*/*.md")
    return yaml.safe_load(note.read_text(encoding="utf-8").split("---\n")[1])


def test_run_summarize_then_summarize_again_from_the_store(tmp_path: Path) -> None:
    media = tmp_path / "talk.wav"
    shutil.copy(SAMPLE_MEDIA[0], media)
    out = tmp_path / "out"
    refused = cli(tmp_path, "run", str(media), "--engine", "scripted", "--summarize")
    assert refused.returncode == 2 and "BULK_TRANSCRIBE_CHAT_MODEL" in refused.stderr
    assert not (tmp_path / "output").exists()  # nothing started

    with FakeChatServer(default=ANSWER) as chat:
        chat.inject("500", "500")  # the run's summary fails: the item is done anyway
        args = ("run", str(media), "--out", str(out), "--engine", "scripted", "-f", "md")
        ran = cli(tmp_path, *args, "--summarize", chat=chat)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "1 done, 0 failed" in ran.stdout
        assert "summary" not in frontmatter(out)
        assert "1 summary not made" in ran.stderr and "bulk-transcribe summarize" in ran.stderr
        assert "500" in ran.stderr  # why: the chat model's answer

        made = cli(tmp_path, "summarize", "latest", "--out", str(out), chat=chat)
        assert made.returncode == 0, made.stdout + made.stderr
        assert "1 summary made." in made.stdout
        assert frontmatter(out)["summary"] == "Scripted words."
        nothing = cli(tmp_path, "summarize", "latest", "--out", str(out), chat=chat)
        assert "0 summaries made." in nothing.stdout
        assert len(chat.bodies) == 1


def test_a_summary_lost_to_a_kill_is_made_by_the_resume(tmp_path: Path) -> None:
    media = tmp_path / "talk.wav"
    shutil.copy(SAMPLE_MEDIA[0], media)
    out = tmp_path / "out"
    asked, release = threading.Event(), threading.Event()

    def held(_messages: list) -> str:  # the summary in flight when the run is killed
        asked.set()
        release.wait(30)
        return ANSWER

    with FakeChatServer(default=ANSWER) as chat:
        chat.then(held)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_CHAT")},
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
            "BULK_TRANSCRIBE_RATE_LIMIT_DB": str(tmp_path / "budgets.sqlite"),
            "BULK_TRANSCRIBE_CHAT_API_BASE": chat.base_url,
            "BULK_TRANSCRIBE_CHAT_MODEL": "m",
        }
        args = ("run", str(media), "--out", str(out), "--engine", "scripted", "-f", "md")
        run = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.scripted_cli", *args, "--summarize"],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert asked.wait(120), "the run never asked for its summary"
        finally:
            run.kill()
            run.wait()
            release.set()
        assert "summary" not in frontmatter(out)

        resumed = cli(tmp_path, "resume", "latest", "--out", str(out), chat=chat)

        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert frontmatter(out)["summary"] == "Scripted words."
        assert len(chat.bodies) == 2  # the lost one, asked again once
