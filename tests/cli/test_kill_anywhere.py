"""kill -9 at 20 random moments: nothing finished is lost, redone or left half-written.

The scripted engine stands in for the speech model: what is tested is the store, the
coordinator and the files, and it keeps this marathon to seconds per kill.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import yaml

from tests.cli.test_cli import session_folder
from tests.cli.test_lifecycle import SCRIPTED_CLI, env
from tests.samples import REPO, SAMPLE_MEDIA

KILLS = 20
ITEMS = 48  # more work than 20 short runs can finish
ITEM_SECONDS = "1"  # how long the scripted engine works on each item


def make_long_media(folder: Path, count: int) -> None:
    for index in range(count):
        shutil.copy(SAMPLE_MEDIA[index % len(SAMPLE_MEDIA)], folder / f"slow_{index:02d}.wav")


def wait_until_working(db: Path, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the run has an item in hand, so the random moment falls in real work."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with sqlite3.connect(db, timeout=10) as connection:
                query = "SELECT COUNT(*) FROM items WHERE status = 'running'"
                if connection.execute(query).fetchone()[0]:
                    return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.02)


def item_rows(db: Path) -> list[tuple[str, str, str | None, str]]:
    with sqlite3.connect(db, timeout=10) as connection:
        return connection.execute(
            "SELECT source, status, finished_at, outputs_json FROM items ORDER BY position"
        ).fetchall()


def session_exists(db: Path) -> bool:
    """Whether a killed first run got as far as storing its session (else: run it again)."""
    try:
        with sqlite3.connect(db, timeout=10) as connection:
            return connection.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] > 0
    except sqlite3.OperationalError:  # no database, or no tables yet
        return False


def assert_outputs_whole(folder: Path, outputs: list[str]) -> None:
    for name in outputs:
        text = (folder / name).read_text(encoding="utf-8")
        if name.endswith(".md"):
            _, header, body = text.split("---\n", 2)
            assert yaml.safe_load(header)["title"]
            assert body.strip()
        elif name.endswith(".json"):
            assert json.loads(text)["segments"]
        elif name.endswith(".srt"):
            assert "-->" in text and text.endswith("\n")


def test_kill_9_at_20_random_moments_then_resume(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    make_long_media(media, ITEMS)
    total = ITEMS
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    rng = random.Random(20261128)
    finished: dict[str, str] = {}
    horizon = 1.0  # kill within this many seconds of work starting; grows on a slow machine
    mid_batch_kills = 0

    for kill in range(KILLS):
        started = session_exists(db)
        command = (
            ["resume", "latest"]
            if started
            else ["run", str(media), "--format", "md,srt,json", "--engine", "scripted"]
        )
        process = subprocess.Popen(
            [*SCRIPTED_CLI, *command, "--out", str(out), "--concurrency", "2"],
            cwd=REPO,
            env=env(SCRIPTED_ENGINE_SECONDS=ITEM_SECONDS),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        finished_before = len(finished)
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0.0, 1.5))  # sometimes during start-up
        else:
            wait_until_working(db, process)
            time.sleep(rng.uniform(0.0, horizon))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if not session_exists(db):
            continue  # killed before the session was stored: nothing to check yet
        folder = session_folder(out)
        rows = item_rows(db)
        assert len(rows) == total
        for source, status, finished_at, outputs in rows:
            assert status != "failed", f"kill {kill}: {source} failed"
            if source in finished:
                assert status == "done" and finished_at == finished[source], (
                    f"kill {kill}: {source} was redone"
                )
            if status == "done":
                finished[source] = finished_at
                assert_outputs_whole(folder, json.loads(outputs))
        notes = [p.name for p in folder.glob("*.md")]
        assert len(notes) == len(set(notes)) <= total
        mid_batch_kills += len(finished) < total
        # Aim at about one finished item per run, whatever the machine's speed.
        newly_finished = len(finished) - finished_before
        if newly_finished == 0:
            horizon = min(horizon * 1.25, 30.0)
        elif newly_finished > 2:
            horizon = max(horizon / 1.5, 0.5)
    assert finished, "no item ever finished between kills"
    assert mid_batch_kills >= KILLS - 2, "most kills must land while work remains"

    result = subprocess.run(
        [*SCRIPTED_CLI, "resume", "latest", "--out", str(out)],
        cwd=REPO,
        env=env(SCRIPTED_ENGINE_SECONDS="0.05"),
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    rows = item_rows(db)
    assert all(status == "done" for _, status, _, _ in rows)
    for source, _, finished_at, outputs in rows:
        if source in finished:
            assert finished_at == finished[source], f"{source} was redone"
        assert_outputs_whole(session_folder(out), json.loads(outputs))
    folder = session_folder(out)
    assert len(list(folder.glob("*.md"))) == total
    assert not list(folder.glob(".*.tmp")), "temporary files were left behind"
