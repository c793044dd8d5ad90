"""Reading .csv, .tsv and .xlsx files into a header and numbered rows of text."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.ingest.decoding import read_text

SHEET_EXTENSIONS = frozenset({".csv", ".tsv", ".xlsx", ".xlsm"})
_SNIFF_CHARS = 64 * 1024


@dataclass
class Table:
    name: str  # how origins name it: "links.csv", or "book.xlsx sheet 'Episodes'"
    headers: list[str]
    header_row: int  # spreadsheet row number of the header
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells padded to the headers)
    warnings: list[str] = field(default_factory=list)


def read_table(path: Path, sheet: str | None = None) -> Table:
    """The table in `path`; `sheet` picks a worksheet of an .xlsx (default: the first)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        name, raw_rows = _xlsx_rows(path, sheet)
        warnings: list[str] = []
    else:
        text, warning = read_text(path)
        name, raw_rows = path.name, _csv_rows(text, path.suffix.lower())
        warnings = [warning] if warning else []
    return _build_table(name, raw_rows, warnings)


def _csv_rows(text: str, suffix: str) -> list[list[str]]:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:  # a half line would mislead the sniffer
        sample = sample.rsplit("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = "\t" if suffix == ".tsv" else ","
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _xlsx_rows(path: Path, sheet: str | None) -> tuple[str, list[list[str]]]:
    from openpyxl import load_workbook  # import cost paid only by .xlsx users

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged file surfaces as zip, XML or key errors alike
        raise _corrupt(path, exc) from exc
    try:
        names = workbook.sheetnames
        if sheet is not None and sheet not in names:
            raise PermanentError(
                ErrorKind.INVALID_INPUT,
                f"{path.name} has no sheet named '{sheet}'; its sheets are: "
                + ", ".join(f"'{n}'" for n in names),
            )
        chosen = sheet if sheet is not None else names[0]
        try:
            cells = workbook[chosen].iter_rows(values_only=True)
            rows = [[_cell_text(v) for v in row] for row in cells]
        except Exception as exc:
            raise _corrupt(path, exc) from exc
    finally:
        workbook.close()
    name = path.name if len(names) == 1 else f"{path.name} sheet '{chosen}'"
    return name, rows


def _corrupt(path: Path, exc: Exception) -> PermanentError:
    return PermanentError(
        ErrorKind.INVALID_INPUT,
        f"{path.name} could not be read as an Excel workbook ({type(exc).__name__}: {exc}); "
        "open it in Excel and save it again as .xlsx, or export it as CSV",
    )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 42 as 42.0
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _build_table(name: str, raw_rows: Iterable[list[str]], warnings: list[str]) -> Table:
    numbered = [(n, [c.strip() for c in row]) for n, row in enumerate(raw_rows, start=1)]
    content = [(n, row) for n, row in numbered if any(row)]
    if not content:
        raise PermanentError(ErrorKind.INVALID_INPUT, f"{name} is empty: it has no rows")
    header_number, headers = content[0]
    while headers and not headers[-1]:  # spreadsheets often carry empty trailing columns
        headers.pop()
    if len(content) == 1:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{name} has no rows below its header (row {header_number}); add one link per row",
        )
    width = len(headers)
    rows = [(n, (row + [""] * width)[:width]) for n, row in content[1:]]
    return Table(name=name, headers=headers, header_row=header_number, rows=rows, warnings=warnings)
