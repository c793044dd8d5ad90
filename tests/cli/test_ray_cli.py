"""`--executor ray` on an install without Ray: a clear message, and nothing started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.samples import SAMPLE_MEDIA

# The real CLI in a process where `import ray` fails, as on an install without the extra.
WITHOUT_RAY = (
    "import sys; sys.modules['ray'] = None; "
    "from bulk_transcribe.cli.main import main; sys.argv[0] = 'bulk-transcribe'; main()"
)


def run_without_ray(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_on_ray_without_ray_says_how_to_install_it_and_starts_nothing(tmp_path: Path):
    out = tmp_path / "out"
    result = run_without_ray("run", str(SAMPLE_MEDIA[0]), "--executor", "ray", "--out", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install 'bulk-transcribe[ray]'" in result.stderr.replace("\n", "")
    assert not (out / "sessions").exists()


def test_an_unknown_executor_is_a_usage_error(tmp_path: Path):
    result = run_without_ray(
        "run", str(SAMPLE_MEDIA[0]), "--executor", "dask", "--out", str(tmp_path)
    )
    assert result.returncode == 2
    assert "executor" in result.stderr and "threads" in result.stderr
