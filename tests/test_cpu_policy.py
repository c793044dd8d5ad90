"""On shared cores the speech model's threads sleep at barriers instead of spinning."""

from __future__ import annotations

import os
import subprocess
import sys

# What CTranslate2's OpenMP runtime (libgomp) sees when it loads: the environment of the
# process at the moment faster-whisper is first imported through our package.
PROBE = (
    "import os, bulk_transcribe.cli.main, bulk_transcribe.engines.local_whisper as lw;"
    "import faster_whisper;"
    "print(os.environ.get('OMP_WAIT_POLICY'))"
)


def _policy_seen(extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | extra_env
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_the_openmp_threads_wait_passively_by_default() -> None:
    assert _policy_seen({}) == "PASSIVE"


def test_a_users_own_wait_policy_wins() -> None:
    assert _policy_seen({"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"
