"""`bulk-transcribe find`: everything transcribed, searched from the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bulk_transcribe.store import Store
from tests.cli.test_cli import run_cli
from tests.samples import SAMPLE_MEDIA
from tests.store.sessions import SegmentsEngine, local_specs, transcribe

SCRIPT = {
    "interview": [(0.0, 4.0, "Welcome back."), (125.0, 130.0, "The crème brûlée was perfect.")],
    "lecture": [(0.0, 5.0, "Today: thermodynamics and the perfect engine.")],
}


def make_store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    out = tmp_path / "out"
    media = tmp_path / "media"
    media.mkdir()
    sessions = {}
    with Store(out / "bulk_transcribe.db") as store:
        for name in SCRIPT:
            shutil.copy(SAMPLE_MEDIA[0], media / f"{name}.wav")
            sessions[name] = transcribe(
                store, out, local_specs([media / f"{name}.wav"]), SegmentsEngine(SCRIPT)
            )
    return out, sessions


def test_find_prints_each_hit_with_its_time_and_link(tmp_path: Path) -> None:
    out, _ = make_store(tmp_path)
    result = run_cli("find", "creme brulee", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "interview 2:05" in result.stdout
    assert "The crème brûlée was perfect." in result.stdout
    assert f"{(tmp_path / 'media' / 'interview.wav').as_uri()}#t=125" in result.stdout


def test_find_narrows_to_a_session_and_speaks_json(tmp_path: Path) -> None:
    out, sessions = make_store(tmp_path)
    db = out / "bulk_transcribe.db"
    result = run_cli("find", "perfect", "--db", str(db), "--json")
    assert {hit["title"] for hit in json.loads(result.stdout)} == {"interview", "lecture"}
    result = run_cli("find", "perf*", "--db", str(db), "--session", sessions["lecture"], "--json")
    (hit,) = json.loads(result.stdout)
    assert (hit["title"], hit["start"], hit["text"]) == (
        "lecture",
        0.0,
        "Today: thermodynamics and the perfect engine.",
    )


def test_find_says_when_nothing_matches_or_the_store_is_missing(tmp_path: Path) -> None:
    out, _ = make_store(tmp_path)
    result = run_cli("find", "zebra", "--out", str(out))
    assert result.returncode == 1
    assert "No match for 'zebra' in 2 transcripts." in result.stdout
    result = run_cli("find", "zebra", "--out", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "does not exist (use --out or --db)" in result.stderr
    result = run_cli("find", "zebra", "--out", str(out), "--session", "nope")
    assert result.returncode == 2 and "no session matches 'nope'" in result.stderr


def test_a_session_prefix_that_fits_several_says_so(tmp_path: Path) -> None:
    """A prefix shared by two sessions was answered "no session matches", which sent the
    user looking for a session that was there."""
    out, sessions = make_store(tmp_path)
    first, second = sorted(sessions.values())
    common = next(n for n in range(len(first)) if first[n] != second[n])
    result = run_cli("find", "perfect", "--out", str(out), "--session", first[:common])
    assert result.returncode == 2
    assert "matches 2 sessions" in result.stderr and first in result.stderr
    assert "no session matches" not in result.stderr
