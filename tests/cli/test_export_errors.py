"""`export` to a place it cannot write names the option that chooses another (--to)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import run_cli
from tests.cli.test_lifecycle import finish, media_folder, scripted


def test_an_unwritable_export_folder_points_at_to_and_loses_nothing(tmp_path: Path) -> None:
    media = media_folder(tmp_path, ["alpha"])
    out = tmp_path / "out"
    code, _, stderr = finish(
        scripted(["run", str(media), "--engine", "scripted", "--out", str(out)], tmp_path)
    )
    assert code == 0, stderr
    blocker = tmp_path / "notes"
    blocker.write_text("a file where the folder should go")

    refused = run_cli("export", "latest", "--out", str(out), "--to", str(blocker / "q3"))

    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert f"cannot write {blocker / 'q3'}" in message
    assert "choose a folder you can write to with --to" in message
    assert "--out" not in message  # --out picks the store, not where an export goes
    written = run_cli("export", "latest", "--out", str(out), "--to", str(tmp_path / "q3"))
    assert written.returncode == 0, written.stderr
    assert len(list((tmp_path / "q3").glob("alpha*.md"))) == 1
