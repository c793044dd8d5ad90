"""A session's life across processes: one owner, stop/cancel from outside, SIGTERM, a hung
worker at exit, and outputs written again from the store. The real CLI in real processes,
with the scripted engine where the speech model adds nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.engines.conftest import OPENAI_KEY
from tests.fakes.base import Reply, Request
from tests.fakes.openai_server import FakeOpenAIServer
from tests.samples import REPO, SAMPLE_MEDIA

SCRIPTED_CLI = [sys.executable, "-m", "tests.fakes.scripted_cli"]
WAIT = 120.0


def env(**variables: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BULK_TRANSCRIBE_", "OPENAI_", "DEAPI_", "GROQ_", "SCRIPTED_"))
    }
    # The checkout under test first, not an installed copy.
    path = os.pathsep.join([str(REPO / "src"), str(REPO)])
    return {**clean, "PYTHONPATH": path, "COLUMNS": "200", **variables}


def media_folder(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    for name in names:
        shutil.copy(SAMPLE_MEDIA[0], folder / f"{name}.wav")
    return folder


def scripted(args: list[str], tmp_path: Path, **variables: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*SCRIPTED_CLI, *args],
        cwd=REPO,
        env=env(SCRIPTED_ENGINE_LOG=str(tmp_path / "work.log"), **variables),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = WAIT) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def work_done(tmp_path: Path) -> Counter[str]:
    log = tmp_path / "work.log"
    return Counter(log.read_text().split()) if log.exists() else Counter()


def rows(db: Path, sql: str) -> list[tuple]:
    try:
        with sqlite3.connect(db, timeout=10) as connection:
            return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []


def wait_for(condition, process: subprocess.Popen | None = None, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def gated_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """A real CLI run (scripted engine) of `alpha` and `gate_beta`, held while it transcribes
    gate_beta (it never passes the gate): for what a kill -9 in flight leaves. Returns the
    process and its database, once gate_beta is running."""
    media = media_folder(tmp_path, ["alpha", "gate_beta"])
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    process = scripted(
        ["run", str(media), "--engine", "scripted", "--out", str(out)],
        tmp_path,
        SCRIPTED_ENGINE_GATE=str(tmp_path / "never"),
    )
    gated = "SELECT 1 FROM items WHERE status = 'running' AND source LIKE '%gate_beta%'"
    wait_for(lambda: rows(db, gated), process)
    return process, db


def only_session(db: Path) -> str:
    ((session_id,),) = rows(db, "SELECT id FROM sessions")
    return session_id


def test_sigterm_stops_like_ctrl_c_and_resume_loses_and_redoes_nothing(tmp_path: Path):
    names = [f"slow{n}" for n in range(8)]
    media = media_folder(tmp_path, names)
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    process = scripted(["run", str(media), "--engine", "scripted", "--out", str(out)], tmp_path)
    wait_for(lambda: sum(work_done(tmp_path).values()) >= 2, process)

    process.send_signal(signal.SIGTERM)
    code, stdout, stderr = finish(process)

    assert code == 1, stdout + stderr
    assert "SIGTERM: stopping" in stderr
    assert "Resume with: bulk-transcribe resume" in stdout
    assert rows(db, "SELECT status FROM sessions") == [("stopped",)]
    states = Counter(s for (s,) in rows(db, "SELECT status FROM items"))
    assert states["running"] == 0 and states["failed"] == 0 and states["queued"] > 0
    folder = out / "sessions" / only_session(db)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["session"]["status"] == "stopped"

    code, stdout, stderr = finish(scripted(["resume", "latest", "--out", str(out)], tmp_path), WAIT)

    assert code == 0, stdout + stderr
    assert work_done(tmp_path) == Counter(names), "every item transcribed exactly once"
    assert len(list(folder.glob("*.md"))) == len(names)


def test_a_permanently_hung_worker_does_not_keep_the_process_alive(tmp_path: Path):
    media = media_folder(tmp_path, ["hang", "ok1", "ok2"])
    out = tmp_path / "out"
    process = scripted(
        ["run", str(media), "--engine", "scripted", "--out", str(out), "-j", "2"],
        tmp_path,
        BULK_TRANSCRIBE_ITEM_TIMEOUT_SECONDS="1",
        BULK_TRANSCRIBE_ITEM_TIMEOUT_PER_AUDIO_SECOND="0",
    )

    # The hung item's thread never returns; the process must end anyway, not at a time-out.
    code, stdout, stderr = finish(process, timeout=60)

    assert code == 1, stdout + stderr
    db = out / "bulk_transcribe.db"
    states = dict(rows(db, "SELECT source, status FROM items"))
    assert sorted(states.values()) == ["done", "done", "failed"]
    assert work_done(tmp_path) == Counter(["ok1", "ok2"])


def test_a_second_process_is_refused_while_the_first_runs_and_stop_reaches_it(tmp_path: Path):
    media = media_folder(tmp_path, [f"slow{n}" for n in range(30)])
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    first = scripted(
        ["run", str(media), "--engine", "scripted", "--out", str(out)],
        tmp_path,
        SCRIPTED_ENGINE_SECONDS="2",  # a long run: the other commands land while it works
    )
    wait_for(lambda: work_done(tmp_path), first)
    session_id = only_session(db)

    code, stdout, stderr = finish(scripted(["resume", session_id, "--out", str(out)], tmp_path))
    assert code == 2
    assert f"session {session_id} is being processed by pid {first.pid}" in stderr
    # Commands that find the session as they are pasted: with its --out.
    assert f"`bulk-transcribe stop {session_id} --out {out}`" in " ".join(stderr.split())

    status = finish(scripted(["status", session_id, "--out", str(out)], tmp_path))
    assert f"Being processed by pid {first.pid}" in status[1]

    code, stdout, stderr = finish(scripted(["stop", session_id, "--out", str(out)], tmp_path))
    assert code == 0, stderr
    assert f"Asked pid {first.pid}" in stdout
    code, stdout, stderr = finish(first)
    assert code == 1, stdout + stderr
    assert rows(db, "SELECT status FROM sessions") == [("stopped",)]

    code, _, stderr = finish(scripted(["cancel", session_id, "--out", str(out)], tmp_path))
    assert code == 2 and "is not running" in stderr
    assert f"`bulk-transcribe resume {session_id} --out {out}` continues it" in " ".join(
        stderr.split()
    )


def test_two_resumes_at_once_submit_every_item_exactly_once(tmp_path: Path):
    samples = SAMPLE_MEDIA[:4]
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    with FakeOpenAIServer(api_key=OPENAI_KEY, latency=2.0) as server:
        common = ["--out", str(out)]
        variables = {"OPENAI_API_KEY": OPENAI_KEY}
        created = scripted(
            ["run", *map(str, samples), "--engine", "openai", "--api-base", server.base_url,
             *common, "-j", "2"],
            tmp_path,
            **variables,
        )  # fmt: skip
        wait_for(lambda: rows(db, "SELECT id FROM items"), created)
        created.send_signal(signal.SIGKILL)  # a crash: the session stays "running"
        created.wait()
        killed_at = time.monotonic()
        session_id = only_session(db)

        racers = [scripted(["resume", session_id, *common], tmp_path, **variables) for _ in "ab"]
        results = [finish(racer) for racer in racers]
        requests = server.transcription_requests()
        uploads = Counter(r.filenames.get("file") for r in requests)
        # Uploads the killed process sent (answered, and counted, only after it died).
        before = sum(1 for r in requests if r.at < killed_at)

    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results  # one ran it, the other was refused
    refused = next(stderr for code, _, stderr in results if code == 2)
    assert "is being processed by pid" in refused
    assert all(status == "done" for (status,) in rows(db, "SELECT status FROM items"))
    # Every item reached the provider once after the crash: nothing was paid for twice.
    assert sum(uploads.values()) - before <= len(samples)
    assert max(uploads.values()) <= 2


class HeldUploads(FakeOpenAIServer):
    """Holds every upload until `release` is set (at most WAIT seconds); `arrived` is set at
    the first."""

    def __init__(self, **knobs) -> None:
        super().__init__(**knobs)
        self.arrived = threading.Event()
        self.release = threading.Event()

    def route(self, request: Request) -> Reply:
        if request.path.endswith("/audio/transcriptions"):
            self.arrived.set()
            self.release.wait(WAIT)
        return super().route(request)


def test_two_runs_of_one_list_at_once_upload_every_item_once(tmp_path: Path):
    # Two people on one shared output folder start the same list a moment apart: each item
    # reaches the paid provider once, and each session has every item, done or linked.
    samples = SAMPLE_MEDIA[:3]
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    waiting = "SELECT message FROM events WHERE kind = 'waiting'"
    with HeldUploads(api_key=OPENAI_KEY) as server:
        command = ["run", *map(str, samples), "--engine", "openai", "--api-base",
                   server.base_url, "--out", str(out)]  # fmt: skip
        first = scripted(command, tmp_path, OPENAI_API_KEY=OPENAI_KEY)
        wait_for(server.arrived.is_set, first)  # its first upload is out, held unanswered
        second = scripted(command, tmp_path, OPENAI_API_KEY=OPENAI_KEY)
        # However slowly the second process starts, it finds the first one's items in hand.
        wait_for(lambda: rows(db, waiting), second)
        server.release.set()
        results = [finish(first), finish(second)]
        uploads = Counter(r.filenames.get("file") for r in server.transcription_requests())

    assert [code for code, _, _ in results] == [0, 0], results
    assert sorted(uploads.values()) == [1, 1, 1], uploads
    by_session = Counter(rows(db, "SELECT session_id, status FROM items"))
    assert sum(n for (_, status), n in by_session.items() if status == "done") == 3, by_session
    assert {status for _, status in by_session} == {"done", "skipped"}
    assert len({session for session, _ in by_session}) == 2
    assert "paying for it twice" in rows(db, waiting)[0][0]


def test_export_writes_a_deleted_session_folder_again_from_the_store(tmp_path: Path):
    media = media_folder(tmp_path, ["alpha", "beta", "gamma"])
    out = tmp_path / "out"
    code, stdout, stderr = finish(
        scripted(["run", str(media), "--engine", "scripted", "--out", str(out)], tmp_path)
    )
    assert code == 0, stdout + stderr
    db = out / "bulk_transcribe.db"
    folder = out / "sessions" / only_session(db)
    original = {p.name: p.read_text() for p in folder.iterdir() if p.suffix != ".json"}
    shutil.rmtree(folder)

    code, stdout, stderr = finish(scripted(["export", "latest", "--out", str(out)], tmp_path))

    assert code == 0, stdout + stderr
    restored = {p.name: p.read_text() for p in folder.iterdir() if p.suffix != ".json"}
    assert set(restored) == set(original)
    notes = [name for name in original if name.endswith(".md")]
    assert len(notes) == 3
    for name in notes:
        assert restored[name] == original[name]
    assert "decoding:" in original[notes[0]] and "script: by file name" in original[notes[0]]
    assert work_done(tmp_path) == Counter(["alpha", "beta", "gamma"]), "nothing re-transcribed"

    elsewhere = tmp_path / "copy"
    code, _, stderr = finish(
        scripted(["export", "latest", "--out", str(out), "--to", str(elsewhere),
                  "--format", "txt"], tmp_path)
    )  # fmt: skip
    assert code == 0, stderr
    assert len(list(elsewhere.glob("*.txt"))) == 3 and (elsewhere / "manifest.json").is_file()


def test_export_keeps_a_note_edited_since_it_was_written_unless_told_to_overwrite(
    tmp_path: Path,
):
    """A note edited in Obsidian is the user's: export writes what is missing or unchanged,
    keeps the edited note as it is and says so; --overwrite replaces it."""
    media = media_folder(tmp_path, ["alpha", "beta"])
    out = tmp_path / "out"
    code, stdout, stderr = finish(
        scripted(["run", str(media), "--engine", "scripted", "--out", str(out)], tmp_path)
    )
    assert code == 0, stdout + stderr
    folder = out / "sessions" / only_session(out / "bulk_transcribe.db")
    edited, untouched = sorted(folder.glob("*.md"))
    as_written = edited.read_text()
    edited.write_text(as_written + "\nMy own notes on this talk.\n")
    untouched.unlink()

    code, stdout, stderr = finish(scripted(["export", "latest", "--out", str(out)], tmp_path))
    assert code == 0, stdout + stderr
    assert edited.read_text().endswith("My own notes on this talk.\n")
    assert untouched.is_file()  # a missing file is written again
    assert "kept as they are: 1 file edited" in stderr and edited.name in stderr

    code, stdout, stderr = finish(
        scripted(["export", "latest", "--out", str(out), "--overwrite"], tmp_path)
    )
    assert code == 0, stdout + stderr
    assert edited.read_text() == as_written and "kept" not in stderr


def test_resume_from_another_working_directory_keeps_one_session_folder(tmp_path: Path):
    media = media_folder(tmp_path, [f"slow{n}" for n in range(6)])
    first_cwd, second_cwd = tmp_path / "here", tmp_path / "there"
    first_cwd.mkdir()
    second_cwd.mkdir()
    process = subprocess.Popen(
        [*SCRIPTED_CLI, "run", str(media), "--engine", "scripted", "--out", "out"],
        cwd=first_cwd,
        env=env(SCRIPTED_ENGINE_LOG=str(tmp_path / "work.log")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: work_done(tmp_path), process)
    process.send_signal(signal.SIGINT)
    finish(process)

    resumed = subprocess.run(
        [*SCRIPTED_CLI, "resume", "latest", "--db", str(first_cwd / "out" / "bulk_transcribe.db")],
        cwd=second_cwd,
        env=env(SCRIPTED_ENGINE_LOG=str(tmp_path / "work.log")),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert not (second_cwd / "out").exists()
    (folder,) = (first_cwd / "out" / "sessions").iterdir()
    assert len(list(folder.glob("*.md"))) == 6


@pytest.mark.parametrize("command", ["stop", "cancel"])
def test_stop_and_cancel_name_an_unknown_session_clearly(tmp_path: Path, command: str):
    media = media_folder(tmp_path, ["alpha"])
    out = tmp_path / "out"
    finish(scripted(["run", str(media), "--engine", "scripted", "--out", str(out)], tmp_path))

    code, _, stderr = finish(scripted([command, "nope", "--out", str(out)], tmp_path))

    assert code == 2 and "no session matches 'nope'" in stderr


def test_kill_9_mid_batch_then_resume_loses_nothing_and_redoes_nothing(tmp_path: Path):
    names = [f"slow{n:02d}" for n in range(18)]
    media = media_folder(tmp_path, names)
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    process = scripted(
        ["run", str(media), "--engine", "scripted", "--out", str(out), "--format", "md,srt"],
        tmp_path,
    )
    done = "SELECT source, finished_at FROM items WHERE status = 'done'"
    wait_for(lambda: len(rows(db, done)) >= 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = dict(rows(db, done))
    assert 3 <= len(done_before) < 18, "the kill did not land mid-batch"

    code, stdout, stderr = finish(scripted(["resume", "latest", "--out", str(out)], tmp_path))

    assert code == 0, stdout + stderr
    items = rows(db, "SELECT source, status, finished_at FROM items")
    assert all(status == "done" for _, status, _ in items)
    for source, _, finished_at in items:
        if source in done_before:
            assert finished_at == done_before[source], f"{source} was transcribed again"
    folder = out / "sessions" / only_session(db)
    notes = sorted(p.name for p in folder.glob("*.md"))
    assert len(notes) == 18 == len(set(notes))
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*.tmp"))


def test_ctrl_c_stops_after_the_running_item_and_the_session_resumes(tmp_path: Path):
    names = [f"slow{n:02d}" for n in range(18)]
    media = media_folder(tmp_path, names)
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    process = scripted(
        ["run", str(media), "--engine", "scripted", "--out", str(out), "--format", "txt"],
        tmp_path,
    )
    wait_for(lambda: work_done(tmp_path), process)

    process.send_signal(signal.SIGINT)
    code, stdout, stderr = finish(process)

    assert code == 1
    assert "Stopping after the running items" in stderr
    assert "Resume with: bulk-transcribe resume" in stdout
    assert rows(db, "SELECT status FROM sessions") == [("stopped",)]
    states = [status for (status,) in rows(db, "SELECT status FROM items")]
    assert "queued" in states and "running" not in states and "failed" not in states

    code, stdout, stderr = finish(scripted(["resume", "latest", "--out", str(out)], tmp_path))

    assert code == 0, stderr
    assert work_done(tmp_path) == Counter(names), "every item transcribed exactly once"
    assert len(list((out / "sessions" / only_session(db)).glob("*.txt"))) == 18
