"""`follow` + `update` as cron runs them: the real CLI in real processes against a podcast feed
on 127.0.0.1 whose episodes appear between updates; the scripted engine does the speech part."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bulk_transcribe.engines import ENGINES
from bulk_transcribe.service.follow import check_follows, one_update_at_a_time, start_update
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.samples import EXAMPLES, REPO
from tests.sources.feeds import FeedEpisode, day, rss_feed
from tests.sources.media_server import MediaServer, Route, running_server

SCRIPTED_CLI = [sys.executable, "-m", "tests.fakes.scripted_cli"]
AUDIO = ["02_library_visit.mp3", "04_weather_report.ogg", "03_coffee_recipe.m4a"]


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BULK_TRANSCRIBE_", "OPENAI_", "SCRIPTED_"))
        or k == "BULK_TRANSCRIBE_RATE_LIMIT_DB"
    }
    env = {
        **clean,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "SCRIPTED_ENGINE_LOG": str(tmp_path / "work.log"),
    }
    return subprocess.run(
        [*SCRIPTED_CLI, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def publish(server: MediaServer, count: int) -> str:
    """The feed with its first `count` episodes, newest first as hosts list them."""
    episodes = [
        FeedEpisode(f"Episode {n}", day(2024, n, 1), server.url(f"/audio/{name}"))
        for n, name in enumerate(AUDIO[:count], start=1)
    ]
    return server.add(
        "/show.rss", Route(rss_feed("Garden Talk", episodes[::-1]), "application/rss+xml")
    )


def serve_audio(server: MediaServer) -> None:
    for name in AUDIO:
        server.add(f"/audio/{name}", Route((EXAMPLES / "media" / name).read_bytes(), "audio/mpeg"))


def work_done(tmp_path: Path) -> Counter[str]:
    log = tmp_path / "work.log"
    return Counter(log.read_text().split()) if log.exists() else Counter()


def sessions(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]


def test_each_update_transcribes_only_the_episodes_that_appeared_since_the_last(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with running_server() as server:
        serve_audio(server)
        feed = publish(server, 2)
        followed = cli(tmp_path, "follow", feed, "--out", str(out))
        assert followed.returncode == 0, followed.stdout + followed.stderr
        assert "Following #1 (podcast feed)" in followed.stdout

        first = cli(tmp_path, "update", "--out", str(out), "--engine", "scripted", "-f", "md")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Garden Talk" in first.stdout
        assert "2 new items to transcribe." in first.stdout
        assert "2 done, 0 failed" in first.stdout
        assert sum(work_done(tmp_path).values()) == 2
        assert len(list(out.glob("sessions/*/*.md"))) == 2

        publish(server, 3)  # a new episode is out
        looked = cli(tmp_path, "update", "--out", str(out), "--check-only")
        assert looked.returncode == 0, looked.stdout + looked.stderr
        assert "1 new item to transcribe." in looked.stdout
        assert sessions(out / "bulk_transcribe.db") == 1  # nothing stored, nothing transcribed
        assert len(server.requests_to("/audio/" + AUDIO[2])) == 0
        second = cli(tmp_path, "update", "--out", str(out), "--engine", "scripted", "-f", "md")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "new in #1: Episode 3" in second.stdout
        assert "1 new item to transcribe." in second.stdout
        assert "1 done, 0 failed, 0 skipped, 0 remaining of 1" in second.stdout
        assert sum(work_done(tmp_path).values()) == 3  # only the new one was transcribed
        for name in AUDIO[:2]:  # the old episodes were not fetched again
            assert len(server.requests_to(f"/audio/{name}")) == 1, name
        assert sessions(out / "bulk_transcribe.db") == 2

        third = cli(tmp_path, "update", "--out", str(out), "--engine", "scripted")
        assert third.returncode == 0, third.stdout + third.stderr
        assert "Nothing new." in third.stdout
        assert sessions(out / "bulk_transcribe.db") == 2
        assert sum(work_done(tmp_path).values()) == 3

        listed = cli(tmp_path, "follows", "--out", str(out))
        assert "Garden Talk" in listed.stdout and "never" not in listed.stdout


def test_an_update_while_another_runs_says_who_holds_it_and_does_nothing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with running_server() as server:
        serve_audio(server)
        feed = publish(server, 1)
        assert cli(tmp_path, "follow", feed, "--out", str(out)).returncode == 0
        with Store(out / "bulk_transcribe.db") as store, one_update_at_a_time(store):
            requests_before = len(server.requests)
            busy = cli(tmp_path, "update", "--out", str(out), "--engine", "scripted")
        assert busy.returncode == 75, busy.stdout + busy.stderr
        assert f"pid {os.getpid()}" in busy.stderr
        assert "already running" in busy.stderr
        assert len(server.requests) == requests_before  # not even the feed was read
        assert sessions(out / "bulk_transcribe.db") == 0

        after = cli(tmp_path, "update", "--out", str(out), "--engine", "scripted")
        assert after.returncode == 0, after.stdout + after.stderr  # the claim was let go
        assert "1 done" in after.stdout


def test_what_cannot_be_followed_is_refused_with_what_to_do(tmp_path: Path) -> None:
    out = tmp_path / "out"
    video = cli(
        tmp_path, "follow", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "--out", str(out)
    )
    assert video.returncode == 2
    assert "one video" in video.stderr and "bulk-transcribe run" in video.stderr
    nothing = cli(tmp_path, "unfollow", "7", "--out", str(out))
    assert nothing.returncode == 2 and "bulk-transcribe follows" in nothing.stderr


def test_an_update_left_unfinished_is_finished_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an interrupted update held is never handed on again, so the next one runs it."""
    monkeypatch.setitem(ENGINES, "scripted", "tests.fakes.scripted_engine:create")
    out = tmp_path / "out"
    with running_server() as server:
        serve_audio(server)
        feed = publish(server, 2)
        assert cli(tmp_path, "follow", feed, "--out", str(out)).returncode == 0
        with Store(out / "bulk_transcribe.db") as store:  # as if the machine went down here
            values = Settings(out_dir=out, engine="scripted", formats="md")
            left = start_update(store, values, check_follows(store, values))
        assert left is not None

        after = cli(tmp_path, "update", "--out", str(out), "--engine", "scripted")
        assert after.returncode == 0, after.stdout + after.stderr
        assert f"Finishing session {left.id}, left unfinished by an earlier update." in after.stdout
        assert "2 done, 0 failed" in after.stdout and "Nothing new." in after.stdout
        assert sum(work_done(tmp_path).values()) == 2
        assert sessions(out / "bulk_transcribe.db") == 1

        again = cli(tmp_path, "update", "--out", str(out), "--engine", "scripted")
        assert "Finishing" not in again.stdout and "Nothing new." in again.stdout
