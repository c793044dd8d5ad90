"""Helpers that write real input files the way users' tools produce them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

XlsxWriter = Callable[[Path, dict[str, Sequence[Sequence[Any]]]], Path]


@pytest.fixture
def write_xlsx() -> XlsxWriter:
    """Write a real workbook with one worksheet per entry of `sheets`, in order."""

    def write(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
        workbook = Workbook()
        workbook.remove(workbook.active)
        for name, rows in sheets.items():
            worksheet = workbook.create_sheet(name)
            for row in rows:
                worksheet.append(list(row))
        workbook.save(path)
        return path

    return write


@pytest.fixture
def media_file(tmp_path: Path) -> Callable[[str], Path]:
    """Create a small file at `tmp_path / relative`; ingest judges media by extension only."""

    def make(relative: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00" * 16)
        return path

    return make
