"""A session folder that cannot be written mid-run: the run stops at the first item that meets
it (not transcribing, perhaps paying for, every later item only to fail it), and a plain
resume writes what was made without making it again. The real CLI in real processes, with
the scripted engine."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tests.cli.test_lifecycle import (
    finish,
    gated_run,
    media_folder,
    only_session,
    rows,
    scripted,
    wait_for,
)
from tests.cli.test_lifecycle import work_done as work_log
from tests.disks import fill_disk


def test_an_unwritable_session_folder_stops_the_run_and_a_plain_resume_finishes_it(
    tmp_path: Path,
) -> None:
    media = media_folder(tmp_path, ["alpha", "gate_beta", "later_1", "later_2"])
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    gate = tmp_path / "gate"
    process = scripted(
        ["run", str(media), "--engine", "scripted", "--out", str(out)],
        tmp_path,
        SCRIPTED_ENGINE_GATE=str(gate),
    )
    gated = "SELECT 1 FROM items WHERE status = 'running' AND source LIKE '%gate_beta%'"
    wait_for(lambda: rows(db, gated), process)
    session_id = only_session(db)
    folder = out / "sessions" / session_id
    # A folder that cannot be written, without root or a mount: a file where it was.
    shutil.rmtree(folder)
    folder.write_text("not a folder")
    gate.touch()
    code, stdout, stderr = finish(process)

    assert code == 1, stdout + stderr
    assert "cannot be written" in stdout + stderr
    statuses = dict(rows(db, "SELECT title, status FROM items"))
    failed = rows(db, "SELECT error_kind FROM items WHERE status = 'failed'")
    assert failed == [("unwritable",)], statuses
    # The later items were never transcribed: the run stopped at the first write.
    assert work_log(tmp_path) == {"alpha": 1, "gate_beta": 1}
    assert f"bulk-transcribe resume {session_id}" in stdout

    folder.unlink()  # the user makes it writable again
    code, stdout, stderr = finish(
        scripted(
            ["resume", session_id, "--out", str(out)], tmp_path, SCRIPTED_ENGINE_GATE=str(gate)
        )
    )

    assert code == 0, stdout + stderr
    assert rows(db, "SELECT DISTINCT status FROM items") == [("done",)]
    # gate_beta's transcript was kept: written now, not made again.
    assert work_log(tmp_path) == {"alpha": 1, "gate_beta": 1, "later_1": 1, "later_2": 1}
    assert len(list(folder.glob("gate-beta__*.md"))) == 1


def test_a_database_whose_disk_fills_mid_run_stops_it_with_words_not_tracebacks(
    tmp_path: Path, small_disk: Path
) -> None:
    media = media_folder(tmp_path, ["alpha", "gate_beta", "later_1"])
    out, db = tmp_path / "out", small_disk / "sessions.db"
    gate = tmp_path / "gate"
    process = scripted(
        ["run", str(media), "--engine", "scripted", "--out", str(out), "--db", str(db)],
        tmp_path,
        SCRIPTED_ENGINE_GATE=str(gate),
    )
    gated = "SELECT 1 FROM items WHERE status = 'running' AND source LIKE '%gate_beta%'"
    wait_for(lambda: rows(db, gated), process)
    filler = fill_disk(small_disk)
    gate.touch()
    code, stdout, stderr = finish(process)

    assert code == 2, stdout + stderr
    assert "Traceback" not in stderr, stderr
    assert "disk full while saving to the database" in stderr
    assert work_log(tmp_path)["later_1"] == 0  # nothing more was started

    filler.unlink()
    session_id = only_session(db)
    code, stdout, stderr = finish(
        scripted(
            ["resume", session_id, "--out", str(out), "--db", str(db)],
            tmp_path,
            SCRIPTED_ENGINE_GATE=str(gate),
        )
    )
    assert code == 0, stdout + stderr
    assert rows(db, "SELECT DISTINCT status FROM items") == [("done",)]
    # What was stored before the disk filled is kept; the item in hand when it filled could
    # not be stored, and is made again.
    assert work_log(tmp_path)["alpha"] == 1
    assert work_log(tmp_path)["later_1"] == 1


def test_a_resume_writes_again_the_files_of_finished_items_deleted_meanwhile(
    tmp_path: Path,
) -> None:
    media = media_folder(tmp_path, ["alpha", "beta"])
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    code, stdout, stderr = finish(
        scripted(["run", str(media), "--engine", "scripted", "--out", str(out)], tmp_path)
    )
    assert code == 0, stdout + stderr
    session_id = only_session(db)
    folder = out / "sessions" / session_id
    written = sorted(p.name for p in folder.iterdir())
    note = next(folder.glob("alpha__*.md"))
    note.write_text(note.read_text(encoding="utf-8") + "\nMy own words.\n", encoding="utf-8")
    for path in folder.iterdir():
        if path != note:
            path.unlink()  # deleted by hand, all but an edited note

    code, stdout, stderr = finish(scripted(["resume", session_id, "--out", str(out)], tmp_path))

    assert code == 0, stdout + stderr
    assert sorted(p.name for p in folder.iterdir()) == written
    assert note.read_text(encoding="utf-8").endswith("My own words.\n")  # kept as edited
    assert work_log(tmp_path) == {"alpha": 1, "beta": 1}  # written, not made again


def test_a_new_run_does_not_wait_for_an_item_of_a_session_killed_a_moment_ago(
    tmp_path: Path,
) -> None:
    process, db = gated_run(tmp_path)  # alpha done, gate_beta running in session one
    process.kill()  # kill -9: its heartbeat is still fresh, its process provably gone
    process.wait()
    gate = tmp_path / "open"
    gate.touch()
    media, out = tmp_path / "media", db.parent

    code, stdout, stderr = finish(
        scripted(
            ["run", str(media), "--engine", "scripted", "--out", str(out)],
            tmp_path,
            SCRIPTED_ENGINE_GATE=str(gate),
        )
    )

    assert code == 0, stdout + stderr
    waits = rows(db, "SELECT message FROM events WHERE kind = 'waiting'")
    assert waits == [], waits  # nobody was transcribing it: no "waits for its result"
    assert work_log(tmp_path) == {"alpha": 1, "gate_beta": 1}  # alpha linked, not redone


def test_export_removes_what_a_killed_write_left_and_keeps_a_write_under_way(
    tmp_path: Path,
) -> None:
    media = media_folder(tmp_path, ["alpha"])
    out = tmp_path / "out"
    finish(scripted(["run", str(media), "--engine", "scripted", "--out", str(out)], tmp_path))
    folder = out / "sessions" / only_session(out / "bulk_transcribe.db")
    # What a write killed between its temporary file and its rename leaves (an hour ago),
    # and the temporary file of a write another process is making right now.
    abandoned = folder / ".alpha__0a1b2c3d.srt.1a2b3c4d.tmp"
    abandoned.write_text("1\n00:00:00,000 --> 00:00:01,000\nWords\n")
    os.utime(abandoned, (time.time() - 3600, time.time() - 3600))
    under_way = folder / ".alpha__0a1b2c3d.vtt.5e6f7a8b.tmp"
    under_way.write_text("WEBVTT\n")

    code, stdout, stderr = finish(scripted(["export", "latest", "--out", str(out)], tmp_path))

    assert code == 0, stdout + stderr
    assert not abandoned.exists()
    assert under_way.exists()
