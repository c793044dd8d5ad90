"""An owner stalled 20 s, in real processes, with the product's lease (15 s of silence).

    .venv/bin/python benchmarks/stalled_owner.py [--stall 20]     # about 40 s

The real CLI runs a session of 11 items with the scripted engine (tests/fakes/scripted_engine.py:
`slow*` items take 1.5 s each, `gate` waits for a file), three at a time. Once two items are
done the first process gets SIGSTOP; when its heartbeat is older than the lease a second
process resumes the session (taking it over); the first gets SIGCONT `--stall` seconds after
its SIGSTOP. Each transcription is signed with the pid of the process that made it, so what
lands in the store and the session folder tells who wrote it. Prints what the first did
after it woke up (its exit, its message, the work it finished that was refused) and what
the second finished.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.fakes.frozen_process import stop_between_writes  # noqa: E402

SAMPLE = REPO / "examples" / "media" / "02_library_visit.mp3"
LEASE_SECONDS = 15.0  # runner/ownership.py OWNER_EXPIRY_SECONDS
OUR_VARIABLES = ("BULK_TRANSCRIBE_", "SCRIPTED_", "OPENAI_", "DEAPI_", "GROQ_")
SIGNED = re.compile(r"Words of (\w+)@(\d+)\.")


def rows(db: Path, sql: str) -> list[tuple]:
    try:
        with sqlite3.connect(db, timeout=10) as connection:
            return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []


def wait_for(condition, what: str, timeout: float = 120.0) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.05)
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stall", type=float, default=20.0, help="seconds between STOP and CONT")
    args = parser.parse_args()
    if args.stall <= LEASE_SECONDS:
        parser.error(f"a stall shorter than the lease ({LEASE_SECONDS:g} s) is not taken over")

    work = Path(tempfile.mkdtemp(prefix="bench-stalled-owner-"))
    media, out, gate, log = work / "media", work / "out", work / "gate-open", work / "work.log"
    media.mkdir()
    names = ["gate"] + [f"slow{n:02d}" for n in range(10)]
    for name in names:
        shutil.copy(SAMPLE, media / f"{name}{SAMPLE.suffix}")
    db = out / "bulk_transcribe.db"
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BULK_TRANSCRIBE_", "SCRIPTED_"))
        },
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        "SCRIPTED_ENGINE_SECONDS": "1.5",
        "SCRIPTED_ENGINE_SIGN": "1",
        "SCRIPTED_ENGINE_GATE": str(gate),
        "SCRIPTED_ENGINE_LOG": str(log),
    }
    cli = [sys.executable, "-m", "tests.fakes.scripted_cli"]

    def start(*command: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*cli, *command], cwd=REPO, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    def statuses() -> dict[str, str]:
        return {Path(s).stem: status for s, status in rows(db, "SELECT source, status FROM items")}

    def signed_log() -> list[tuple[str, int]]:
        lines = log.read_text().split() if log.exists() else []
        return [(stem, int(pid)) for stem, pid in (line.split("@") for line in lines)]

    first = start("run", str(media), "--engine", "scripted", "--out", str(out), "-j", "3")
    wait_for(lambda: list(statuses().values()).count("done") >= 2, "two items done")
    stop_between_writes(first, db)
    stopped_at = time.monotonic()
    at_stall = statuses()
    ((session_id,),) = rows(db, "SELECT id FROM sessions")
    folder = out / "sessions" / session_id
    wait_for(
        lambda: time.time() - rows(db, "SELECT heartbeat_at FROM sessions")[0][0] > LEASE_SECONDS,
        "the lease to run out",
    )
    second = start("resume", session_id, "--out", str(out))
    claimed_at = wait_for(
        lambda: rows(db, "SELECT owner_pid FROM sessions") == [(second.pid,)], "the takeover"
    )
    time.sleep(max(0.0, stopped_at + args.stall - time.monotonic()))
    first.send_signal(signal.SIGCONT)
    continued_at = time.monotonic()
    _, first_err = first.communicate(timeout=120)
    first_exited_at = time.monotonic()
    second_running = second.poll() is None
    manifest_by_first = (folder / "manifest.json").exists()
    session_after_first = rows(db, "SELECT owner_pid, status FROM sessions")
    gate.touch()
    second_out, second_err = second.communicate(timeout=300)

    done_by_first = {name for name, status in at_stall.items() if status == "done"}
    in_flight = sorted(name for name, status in at_stall.items() if status == "running")
    signers = Counter(
        int(SIGNED.search(segments).group(2))
        for (segments,) in rows(db, "SELECT segments_json FROM transcripts")
    )
    done_attempts = Counter(
        Path(source).stem
        for (source,) in rows(
            db,
            "SELECT items.source FROM attempts JOIN items ON items.id = attempts.item_id"
            " WHERE attempts.status = 'done'",
        )
    )
    finished = signed_log()
    refused = [n for n, pid in finished if pid == first.pid and n not in done_by_first]
    manifest = json.loads((folder / "manifest.json").read_text())
    said = " ".join(first_err.split())
    message = said[said.find("error:") :] if "error:" in said else said

    print(
        f"stall: SIGSTOP to SIGCONT {continued_at - stopped_at:.1f} s (lease {LEASE_SECONDS:g} s)"
    )
    print(f"taken over {claimed_at - stopped_at:.1f} s after the SIGSTOP")
    print(f"first: in flight at the stall {in_flight}; done before it {len(done_by_first)}")
    print(
        f"first: exited {first_exited_at - continued_at:.2f} s after SIGCONT with code "
        f"{first.returncode}: {message}"
    )
    print(f"first: finished after it woke up, refused: {refused}")
    print(
        f"first: transcripts in the store {signers[first.pid]} (= done before the stall: "
        f"{signers[first.pid] == len(done_by_first)}); manifest written: {manifest_by_first}; "
        f"session after it exited: owner pid {session_after_first[0][0]} "
        f"(second {second.pid}), {session_after_first[0][1]}; second still running: "
        f"{second_running}"
    )
    print(
        f"second: code {second.returncode}, transcripts {signers[second.pid]}, items done "
        f"once: {done_attempts == Counter(names)} ({len(names)} items), session "
        f"{manifest['session']['status']}"
    )
    print(f"paid twice (finished by both): {sorted(refused)}")
    if second.returncode != 0:
        print(second_out + second_err)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
