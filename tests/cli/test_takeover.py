"""An owner that stalls past its lease, in real processes: SIGSTOP the first runner, let a second
take the session over, SIGCONT the first. The first's writes are refused and its workers stop;
the second finishes every item once. The lease is shortened here (SCRIPTED_OWNER_EXPIRY_SECONDS;
15 s in the product) so the stall need not last long."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from tests.cli.test_lifecycle import (
    env,
    finish,
    gated_run,
    media_folder,
    only_session,
    rows,
    scripted,
    wait_for,
)
from tests.engines.conftest import OPENAI_KEY
from tests.fakes.frozen_process import stop_between_writes
from tests.fakes.slow_upload_server import SlowUploadServer, answer_verbose_json
from tests.samples import REPO, write_wav

LEASE_SECONDS = 3.0
SIGNED = re.compile(r"Words of (\w+)@(\d+)\.")


def signed_log(tmp_path: Path) -> list[tuple[str, int]]:
    """(stem, pid) of every transcription finished, in every process: the work paid for."""
    log = tmp_path / "work.log"
    lines = log.read_text().split() if log.exists() else []
    return [(stem, int(pid)) for stem, pid in (line.split("@") for line in lines)]


def stem(source: str) -> str:
    return Path(source).stem


def test_an_owner_stalled_past_its_lease_is_fenced_off_and_the_next_one_does_every_item_once(
    tmp_path: Path,
) -> None:
    names = ["gate"] + [f"slow{n:02d}" for n in range(10)]
    media = media_folder(tmp_path, names)
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    gate = tmp_path / "gate-open"  # the `gate` item ends only once this exists
    knobs = {
        "SCRIPTED_OWNER_EXPIRY_SECONDS": str(LEASE_SECONDS),
        "SCRIPTED_ENGINE_SECONDS": "1.5",
        "SCRIPTED_ENGINE_SIGN": "1",
        "SCRIPTED_ENGINE_GATE": str(gate),
    }
    run = ["run", str(media), "--engine", "scripted", "--out", str(out), "-j", "3"]
    first = scripted(run, tmp_path, **knobs)

    def statuses() -> dict[str, str]:
        return {
            stem(source): status for source, status in rows(db, "SELECT source, status FROM items")
        }

    wait_for(lambda: list(statuses().values()).count("done") >= 2, first)
    stop_between_writes(first, db)
    try:
        at_stall = statuses()
        session_id = only_session(db)
        folder = out / "sessions" / session_id
        # Its heartbeat grows older than the lease while it is stopped.
        wait_for(
            lambda: (
                time.time() - rows(db, "SELECT heartbeat_at FROM sessions")[0][0]
                > LEASE_SECONDS + 0.5
            )
        )
        second = scripted(["resume", session_id, "--out", str(out)], tmp_path, **knobs)
        wait_for(lambda: rows(db, "SELECT owner_pid FROM sessions") == [(second.pid,)], second)
        wait_for(lambda: any(pid == second.pid for _, pid in signed_log(tmp_path)), second)
    finally:
        first.send_signal(signal.SIGCONT)
    code, stdout, stderr = finish(first)

    # The first has ended; the second still runs (the gate holds it) and owns the session.
    second_still_running = second.poll() is None
    session_after_first = rows(db, "SELECT owner_pid, status FROM sessions")
    manifest_after_first = (folder / "manifest.json").exists()
    gate.touch()
    second_code, second_out, second_err = finish(second)

    done_by_first = {name for name, status in at_stall.items() if status == "done"}
    in_flight = {name for name, status in at_stall.items() if status == "running"}
    transcripts = {
        stem(source): SIGNED.search(segments).groups()
        for source, segments in rows(
            db,
            "SELECT items.source, transcripts.segments_json FROM transcripts"
            " JOIN items ON items.id = transcripts.item_id",
        )
    }
    done_attempts = Counter(
        stem(source)
        for (source,) in rows(
            db,
            "SELECT items.source FROM attempts JOIN items ON items.id = attempts.item_id"
            " WHERE attempts.status = 'done'",
        )
    )
    notes = {
        match.group(1): match.group(2)
        for note in folder.glob("*.md")
        if (match := SIGNED.search(note.read_text()))
    }
    work = signed_log(tmp_path)
    by_first_after_stall = [
        name for name, pid in work if pid == first.pid and name not in done_by_first
    ]

    # The first process says what happened and stops, its workers with it.
    assert code == 75, stdout + stderr
    assert "was taken over by another process" in stderr and f"pid {second.pid}" in stderr
    assert "gate" in in_flight and "gate" not in by_first_after_stall  # its worker stopped
    # None of its writes landed: no status, no transcript, no manifest.
    assert second_still_running and session_after_first == [(second.pid, "running")]
    assert not manifest_after_first
    assert {
        name for name, (_, pid) in transcripts.items() if int(pid) == first.pid
    } == done_by_first
    assert {name for name, (_, pid) in transcripts.items() if int(pid) == second.pid} == (
        set(names) - done_by_first
    )
    assert notes == {name: pid for name, (_, pid) in transcripts.items()}
    # The second finished the session with every item done once.
    assert second_code == 0, second_out + second_err
    assert done_attempts == Counter(names)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["session"]["status"] == "completed"
    # Paid twice: at most what the first had in flight when it stalled (counted, not zero).
    assert set(by_first_after_stall) <= in_flight and len(set(by_first_after_stall)) == len(
        by_first_after_stall
    )
    assert Counter(name for name, _ in work) == Counter(names) + Counter(by_first_after_stall)
    print(
        f"in flight at the stall: {sorted(in_flight)}; finished by the stalled owner after it "
        f"was taken over (refused, done again by the new owner): {by_first_after_stall}"
    )


def test_a_stalled_owner_woken_after_a_takeover_cuts_its_upload_off(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    # Four minutes of 16 kHz WAV (7.7 MB), uploaded as it is: far more than the sockets buffer.
    write_wav(media / "talk.wav", np.zeros(16_000 * 240, np.float32))
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    knobs = {
        "OPENAI_API_KEY": OPENAI_KEY,
        "SCRIPTED_OWNER_EXPIRY_SECONDS": str(LEASE_SECONDS),
        "BULK_TRANSCRIBE_UPLOAD_LIMIT_MB": "50",
    }
    with SlowUploadServer(answer_verbose_json) as server:  # the first upload is taken slowly
        run = ["run", str(media), "--engine", "openai", "--api-base", server.base_url]
        first = scripted([*run, "--out", str(out)], tmp_path, **knobs)
        assert server.receiving.wait(120), finish(first)
        stop_between_writes(first, db)  # frozen mid-upload
        try:
            session_id = only_session(db)
            wait_for(
                lambda: (
                    time.time() - rows(db, "SELECT heartbeat_at FROM sessions")[0][0]
                    > LEASE_SECONDS + 0.5
                )
            )
            second = scripted(["resume", session_id, "--out", str(out)], tmp_path, **knobs)
            # Owning the session, or done with it already: its upload is not slowed, so on a
            # busy machine it can claim, upload and let go between two looks.
            wait_for(
                lambda: (
                    second.poll() is not None
                    or rows(db, "SELECT owner_pid FROM sessions") == [(second.pid,)]
                )
            )
        finally:
            first.send_signal(signal.SIGCONT)
        code, stdout, stderr = finish(first)
        second_code, second_out, second_err = finish(second)
        uploads = server.wait_for_uploads(2)

    assert code == 75, stdout + stderr
    assert "was taken over by another process" in stderr
    # The first's upload ended before its last byte once it woke; the second's went up whole.
    assert sorted(upload.whole for upload in uploads) == [False, True]
    assert second_code == 0, second_out + second_err
    assert rows(db, "SELECT status, attempts FROM items") == [("done", 2)]


# The scripted CLI in a process whose wall clock runs a minute ahead (a clock that jumped, or
# another machine's skew): every heartbeat it reads looks a minute old.
CLOCK_AHEAD = (
    "import time, runpy, sys; real = time.time; time.time = lambda: real() + 60; "
    "sys.argv = ['bulk-transcribe', *sys.argv[1:]]; "
    "runpy.run_module('tests.fakes.scripted_cli', run_name='__main__')"
)


def test_a_live_owner_is_not_taken_over_by_a_process_whose_clock_runs_ahead(
    tmp_path: Path,
) -> None:
    process, db = gated_run(tmp_path)  # alive, heartbeating, held on gate_beta
    session_id = only_session(db)
    (tmp_path / "open").touch()  # the claimant's gate: were it to take over, it would finish
    claimant = subprocess.run(
        [sys.executable, "-c", CLOCK_AHEAD, "resume", session_id, "--out", str(db.parent)],
        cwd=REPO,
        env=env(SCRIPTED_ENGINE_GATE=str(tmp_path / "open")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        assert claimant.returncode == 2, claimant.stdout + claimant.stderr
        assert f"is being processed by pid {process.pid}" in claimant.stderr
        assert process.poll() is None  # the owner runs on, not fenced off
        owner = rows(db, "SELECT owner_pid FROM sessions")
        assert owner == [(process.pid,)]
    finally:
        process.kill()
        process.wait()
