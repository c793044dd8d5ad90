"""`status` of a big session: read a page at a time, and pointing only at what exists."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.cli.test_cli import run_cli
from tests.cli.test_lifecycle import gated_run, only_session, rows


def big_session(out: Path, count: int) -> str:
    """A session of `count` items as a run leaves it midway: some done, two failed, one
    running, the rest queued; no items.csv yet (it is written when the run ends)."""
    with Store(Settings(out_dir=out).database) as store:
        session = store.create_session(out, {})
        specs = [ItemSpec(f"/media/ep{n:05d}.mp3", SourceType.LOCAL_FILE) for n in range(count)]
        store.add_items(session.id, specs)
        items = store.items(session.id)
        for item in items[:10]:
            store.start_item(item.id)
            store.finish_item(item.id, ItemStatus.DONE)
        for item in items[10:12]:
            store.start_item(item.id)
            store.finish_item(item.id, ItemStatus.FAILED, error_kind="http", error_message="404")
        store.start_item(items[12].id)
        return session.id


def test_status_of_a_big_running_session_lists_the_first_not_done_and_how_to_see_all(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    session_id = big_session(out, 300)

    shown = run_cli("status", session_id, "--out", str(out))

    assert shown.returncode == 0, shown.stderr
    listed = [int(n) for n in re.findall(r"^│\s*(\d+)\s*│", shown.stdout, flags=re.MULTILINE)]
    assert listed == list(range(11, 31))  # the first 20 not done, in order
    assert "items.csv" not in shown.stdout  # it does not exist yet
    assert f"… and 270 more items not done: see `bulk-transcribe status {session_id} --all`" in (
        shown.stdout
    )
    assert "10 done, 2 failed, 0 skipped, 288 remaining of 300" in shown.stdout


def test_status_all_lists_every_item_page_after_page(tmp_path: Path) -> None:
    out = tmp_path / "out"
    session_id = big_session(out, 1500)

    shown = run_cli("status", session_id, "--out", str(out), "--all")

    assert shown.returncode == 0, shown.stderr
    listed = [int(n) for n in re.findall(r"^│\s*(\d+)\s*│", shown.stdout, flags=re.MULTILINE)]
    assert listed == list(range(1, 1501))


# `bulk-transcribe status` run as the CLI runs it, then the modules it loaded: a status of a
# running session reads the store and asks whether its owner lives, nothing more.
_STATUS_THEN_MODULES = """
import sys
from bulk_transcribe.cli.main import main
sys.argv = ["bulk-transcribe", "status", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print("\\n".join(sorted(sys.modules)))
"""


def test_status_of_a_running_session_loads_no_runner_engines_or_renderers(
    tmp_path: Path,
) -> None:
    """Starting Python and importing was most of `status`'s second at 100,000 items; what
    it needs is the store, the settings and whether the owner is alive."""
    from bulk_transcribe.runner.ownership import OWNER_EXPIRY_SECONDS, is_dead, new_owner

    out = tmp_path / "out"
    session_id = big_session(out, 300)
    with Store(Settings(out_dir=out).database) as store:  # this test's process runs it
        assert store.claim_session(session_id, new_owner(), OWNER_EXPIRY_SECONDS, is_dead) is None

    shown = subprocess.run(
        [sys.executable, "-c", _STATUS_THEN_MODULES, session_id, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )

    assert shown.returncode == 0, shown.stderr
    assert f"Being processed by pid {os.getpid()}" in shown.stdout
    assert "10 done, 2 failed, 0 skipped, 288 remaining of 300" in shown.stdout
    loaded = set(shown.stdout.splitlines())
    assert "bulk_transcribe.runner.ownership" in loaded
    for heavy in (
        "bulk_transcribe.runner.runner",
        "bulk_transcribe.engines",
        "bulk_transcribe.outputs.markdown",
        "bulk_transcribe.sources",
        "httpx",
        "av",
    ):
        assert heavy not in loaded, heavy


def test_a_session_whose_process_was_killed_reads_interrupted_and_says_how_to_resume(
    tmp_path: Path,
) -> None:
    process, db = gated_run(tmp_path)  # alpha done, held on gate_beta until the kill
    out = db.parent
    live = run_cli("status", only_session(db), "--out", str(out))
    process.send_signal(signal.SIGKILL)  # a crash: the store still says "running"
    process.wait()
    session_id = only_session(db)

    shown = run_cli("status", session_id, "--out", str(out))
    listed = run_cli("sessions", "--out", str(out))

    assert re.search(r"│\s*gate_beta\s*│\s*running\s*│", live.stdout), live.stdout  # while alive
    assert shown.returncode == 0, shown.stderr
    assert f"Session {session_id} (interrupted)" in shown.stdout
    # The command as it can be pasted: the session is found only with its --out.
    assert f"`bulk-transcribe resume {session_id} --out {out}` does the rest" in " ".join(
        shown.stdout.split()
    )
    # Its item in flight reads as the session does; the store still records it running.
    assert re.search(r"│\s*gate_beta\s*│\s*interrupted — runs again on resume\s*│", shown.stdout)
    assert "running" not in shown.stdout, shown.stdout
    assert rows(db, "SELECT status FROM items WHERE source LIKE '%gate_beta%'") == [("running",)]
    assert re.search(r"│\s*interrupted\s*│", listed.stdout), listed.stdout
    assert "running" not in listed.stdout
