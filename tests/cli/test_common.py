"""What every command shares: a setting that does not validate is one short usage error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.samples import REPO

# A key pasted into the wrong variable: the message must name the setting, never the value.
MISPLACED_KEY = "sk-live-misplaced-0123456789"


@pytest.mark.parametrize("command", [["ask", "what was said?"], ["summarize", "latest"]])
def test_a_setting_that_does_not_validate_is_named_without_its_value(
    tmp_path: Path, command: list[str]
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_")},
        "PYTHONPATH": str(REPO / "src"),
        "BULK_TRANSCRIBE_CONCURRENCY": MISPLACED_KEY,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bulk_transcribe", *command, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "concurrency:" in result.stderr
    assert MISPLACED_KEY not in result.stdout + result.stderr
    assert "errors.pydantic.dev" not in result.stderr
    assert "Traceback" not in result.stderr
