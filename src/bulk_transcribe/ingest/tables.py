"""Reading .csv, .tsv and .xlsx files into a header and numbered rows of text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.ingest.columns import map_columns
from bulk_transcribe.ingest.decoding import read_text

SHEET_EXTENSIONS = frozenset({".csv", ".tsv", ".xlsx", ".xlsm"})
_SNIFF_CHARS = 64 * 1024
# =HYPERLINK("https://…", "click here"): Excel keeps only "click here" as the cell's value.
_HYPERLINK_FORMULA = re.compile(r'^=\s*HYPERLINK\(\s*"((?:[^"]|"")+)"', re.IGNORECASE)
# The whole formula with literal arguments, as a CSV holds it as text, or a workbook written
# by a script (no computed values kept): the text it shows is its second argument.
_HYPERLINK_CALL = re.compile(
    r'^=\s*HYPERLINK\(\s*"((?:[^"]|"")+)"\s*(?:[,;]\s*"((?:[^"]|"")*)"\s*)?\)\s*$', re.IGNORECASE
)
_WEB_LINK = re.compile(r"^https?://", re.IGNORECASE)
# A line inside a cell that looks like a row of the table: a delimiter and a link on it.
_SWALLOWED_ROW = re.compile(r"\n[^\n]*[,;\t][^\n]*https?://|\n[^\n]*https?://[^\n]*[,;\t]", re.I)
# A sheet's sharing link saved to disk is often its sign-in page, whatever the file's name.
_WEB_PAGE = re.compile(r"^\s*(<!doctype html|<html|<head|<body)", re.IGNORECASE)
# The compound-file signature: Excel wraps a password-protected workbook in one, and Excel
# 97-2003 (.xls) workbooks are one; neither is the zip an .xlsx is.
_COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"


@dataclass
class Table:
    name: str  # how origins name it: "links.csv", or "book.xlsx sheet 'Episodes'"
    headers: list[str]
    header_row: int  # spreadsheet row number of the header
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells padded to the headers)
    warnings: list[str] = field(default_factory=list)
    # (row number, column index) -> the web link a cell points to while showing other text
    # (Insert > Link, or a HYPERLINK formula): "Episode 1" in the sheet, its address here.
    links: dict[tuple[int, int], str] = field(default_factory=dict)
    # Every non-empty row as read, unpadded, so another row can be taken as the header.
    content: list[tuple[int, list[str]]] = field(default_factory=list, repr=False)

    def with_header_at(self, position: int) -> Table:
        """The same sheet read with its `position`-th non-empty row (0: the first) as header."""
        return _table_from(self.name, self.content[position:], self.warnings, self.links)


def read_table(path: Path, sheet: str | None = None) -> Table:
    """The table in `path`; `sheet` picks a worksheet of an .xlsx (default: the first)."""
    links: dict[tuple[int, int], str] = {}
    warnings: list[str] = []
    head = _head(path) or b""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        name, raw_rows, links = _xlsx_rows(path, sheet)
    elif head.startswith(_ZIP):  # a workbook saved or renamed as .csv: read it as one
        name, raw_rows, links = _xlsx_rows(path, sheet)
        warnings.append(f"{path.name} is an Excel workbook, not text: read it as one")
    elif head.startswith(_COMPOUND_FILE):
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{path.name} is an Excel 97-2003 or password-protected workbook, not text: save "
            "it from Excel as .xlsx (without a password) or as CSV",
        )
    else:
        text, warning = read_text(path)
        if _WEB_PAGE.match(text[:1024].lstrip("\ufeff")):
            raise _web_page(path)
        name, raw_rows = path.name, _csv_rows(text, path.suffix.lower(), path.name)
        links = _formula_links(raw_rows)
        warnings = [warning] if warning else []
        warnings += _open_quote_warnings(name, raw_rows)
    return _build_table(name, raw_rows, warnings, links)


def table_from_text(text: str, name: str, *, named_links: bool = True) -> Table | None:
    """`text` read as a CSV/TSV table whose header names a column of links (standard input
    fed a sheet), or None when its first line is no such header (a plain list of links).
    `named_links=False`: cells copied from a spreadsheet (tab-separated under a header that
    is no comment), whatever the header calls its links; the caller judges the columns."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "://" in first or not any(sep in first for sep in ",;\t"):
        return None
    if not named_links and ("\t" not in first or first.lstrip().startswith("#")):
        return None
    try:
        table = _build_table(name, _csv_rows(text, ".csv", name), [])
        if named_links:
            map_columns(table.headers, name, {})
    except PermanentError:
        return None
    return table


def _csv_rows(text: str, suffix: str, name: str) -> list[list[str]]:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:  # a half line would mislead the sniffer
        sample = sample.rsplit("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = "\t" if suffix == ".tsv" else ","
    # A cell may hold whole show notes: the csv module's 128 KB limit per cell stopped such
    # sheets with a traceback. The file's size (already read) bounds every cell anyway.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{name} could not be read as a table ({exc}); save it again from the "
            "spreadsheet as CSV UTF-8",
        ) from exc


def _open_quote_warnings(name: str, rows: list[list[str]]) -> list[str]:
    """Rows a quote left open swallowed: a cell running over lines that hold links and
    delimiters reads like the rows after it, which then give no items of their own."""
    return [
        f"{name} row {number}: a cell runs over several lines holding links, as if a quote "
        '(") was left open in it and the rows below were read into it: check that row'
        for number, row in enumerate(rows, start=1)
        if any(_SWALLOWED_ROW.search(cell) for cell in row)
    ]


def _xlsx_rows(
    path: Path, sheet: str | None
) -> tuple[str, list[list[str]], dict[tuple[int, int], str]]:
    from openpyxl import load_workbook  # import cost paid only by .xlsx users

    with ExitStack() as stack:
        # Read-only first: it streams the sheet's XML (100,000 rows: 85 MB where a full load
        # takes 250). Only a full load binds cells' hyperlinks, so a sheet that has any
        # (Insert > Link) is read again whole.
        workbook = _open_workbook(stack, load_workbook, path, read_only=True, data_only=False)
        names = workbook.sheetnames
        if sheet is not None and sheet not in names:
            raise PermanentError(
                ErrorKind.INVALID_INPUT,
                f"{path.name} has no sheet named '{sheet}'; its sheets are: "
                + ", ".join(f"'{n}'" for n in names),
            )
        chosen = sheet if sheet is not None else _ordered_sheets(workbook)[0]
        if _has_hyperlinks(workbook, chosen):
            workbook = _open_workbook(stack, load_workbook, path, read_only=False, data_only=False)
        rows, links, formulas = _sheet_cells(path, workbook[chosen])
        if formulas:  # formulas come as written (=HYPERLINK("…")); values need a data_only read
            computed = _open_workbook(stack, load_workbook, path, read_only=True, data_only=True)
            values = _sheet_values(path, computed[chosen])
            for number, index in formulas:
                shown = values[number - 1][index]
                written = _hyperlink_call(rows[number - 1][index])
                # No computed value kept (a workbook a script wrote): the text the link shows.
                rows[number - 1][index] = shown or (written[1] if written else "")
    name = path.name if len(names) == 1 else f"{path.name} sheet '{chosen}'"
    return name, rows, links


def _sheet_cells(
    path: Path, worksheet: Any
) -> tuple[list[list[str]], dict[tuple[int, int], str], set[tuple[int, int]]]:
    """A sheet's text by row, the web links its cells point to, and where its formulas are."""
    rows: list[list[str]] = []
    links: dict[tuple[int, int], str] = {}
    formulas: set[tuple[int, int]] = set()
    _trust_no_dimension(worksheet)
    try:
        for number, cells in enumerate(worksheet.iter_rows(), start=1):
            for index, cell in enumerate(cells):
                target = _link_target(cell)
                if target:
                    links[number, index] = target
                if getattr(cell, "data_type", None) == "f":
                    formulas.add((number, index))
            rows.append([_cell_text(getattr(cell, "value", None)) for cell in cells])
    except Exception as exc:  # a damaged sheet surfaces as XML or key errors alike
        raise _corrupt(path, exc) from exc
    return rows, links, formulas


def _sheet_values(path: Path, worksheet: Any) -> list[list[str]]:
    _trust_no_dimension(worksheet)
    try:
        return [[_cell_text(v) for v in row] for row in worksheet.iter_rows(values_only=True)]
    except Exception as exc:
        raise _corrupt(path, exc) from exc


def _trust_no_dimension(worksheet: Any) -> None:
    """Make a read-only sheet read every row it has. It otherwise stops where the size its
    file declares ends, and some programs declare "A1" whatever the sheet holds."""
    reset = getattr(worksheet, "reset_dimensions", None)
    if reset is not None:
        reset()


def _has_hyperlinks(workbook: Any, sheet: str) -> bool:
    """Whether `sheet` of a read-only workbook has hyperlinks, read from its relationships
    (a few hundred bytes) rather than by loading every cell. When openpyxl's layout is not
    the one expected, answer yes: the full load is slower, never wrong."""
    archive = getattr(workbook, "_archive", None)
    sheet_path = getattr(workbook[sheet], "_worksheet_path", None)
    if archive is None or not sheet_path:
        return True
    folder, _, file_name = sheet_path.rpartition("/")
    try:
        relations = archive.read(f"{folder}/_rels/{file_name}.rels")
    except KeyError:  # no relationships: no hyperlinks to other places
        return False
    return b"relationships/hyperlink" in relations


def _open_workbook(
    stack: ExitStack, load_workbook: Any, path: Path, *, read_only: bool, data_only: bool
) -> Any:
    try:
        # From an open file: openpyxl judges a path by its extension (a workbook named .csv).
        # A read-only workbook reads from it as it goes, so it stays open until the stack ends.
        file = stack.enter_context(path.open("rb"))
        workbook = load_workbook(file, read_only=read_only, data_only=data_only)
    except Exception as exc:  # a damaged file surfaces as zip, XML or key errors alike
        raise _corrupt(path, exc) from exc
    stack.callback(workbook.close)
    return workbook


def sheet_names(path: Path) -> list[str]:
    """The worksheets of an .xlsx, shown ones first (read without loading their cells)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True)
    except Exception as exc:  # a damaged file surfaces as zip, XML or key errors alike
        raise _corrupt(path, exc) from exc
    try:
        return _ordered_sheets(workbook)
    finally:
        workbook.close()


def _ordered_sheets(workbook: Any) -> list[str]:
    """Sheet names, the ones Excel shows first: a hidden sheet (a lookup table, old data)
    is not what the user sees as the workbook's first, so it is read only when named or
    when no shown sheet has links."""
    names = list(workbook.sheetnames)
    shown = [n for n in names if getattr(workbook[n], "sheet_state", "visible") == "visible"]
    return shown + [n for n in names if n not in shown]


def _link_target(cell: Any) -> str | None:
    """The web address a cell links to, if any (its hyperlink, or a HYPERLINK formula's)."""
    hyperlink = getattr(cell, "hyperlink", None)
    target = getattr(hyperlink, "target", None) or ""
    if not target and isinstance(cell.value, str):
        formula = _HYPERLINK_FORMULA.match(cell.value)
        target = formula.group(1).replace('""', '"') if formula else ""
    return target.strip() if _WEB_LINK.match(target.strip()) else None


def _hyperlink_call(value: Any) -> tuple[str, str] | None:
    """A =HYPERLINK("address", "text") with literal arguments: its web address and the text
    it shows (the address when it names none); None for any other value."""
    match = _HYPERLINK_CALL.match(value) if isinstance(value, str) else None
    if match is None or not _WEB_LINK.match(match.group(1).strip()):
        return None
    address = match.group(1).replace('""', '"').strip()
    return address, (match.group(2) or "").replace('""', '"').strip() or address


def _formula_links(rows: list[list[str]]) -> dict[tuple[int, int], str]:
    """A CSV's =HYPERLINK cells, as a spreadsheet shows them: each cell's text becomes the
    text the link shows, and its address is kept as a workbook's linked cells are."""
    links: dict[tuple[int, int], str] = {}
    for number, row in enumerate(rows, start=1):
        for index, cell in enumerate(row):
            written = _hyperlink_call(cell.strip()) if cell.lstrip().startswith("=") else None
            if written is not None:
                links[number, index], row[index] = written
    return links


def _corrupt(path: Path, exc: Exception) -> PermanentError:
    head = _head(path)
    if head == b"":
        reason = "is empty (0 bytes): it was not saved or copied whole; save it again from Excel"
    elif head.startswith(_COMPOUND_FILE):
        reason = (
            "is password-protected, or an Excel 97-2003 workbook renamed .xlsx: remove its "
            "password (Excel: File > Info > Protect Workbook) or save it again as .xlsx"
        )
    elif _WEB_PAGE.match(head.decode("utf-8", "replace").lstrip("\ufeff")):
        return _web_page(path)
    elif head.startswith(_ZIP) and isinstance(exc, zipfile.BadZipFile):
        reason = (  # a zip's directory is at its end: the start is there, the end is not
            "is incomplete (a download or copy cut short?): download or copy it again, or "
            "open it in Excel and save it again"
        )
    else:
        reason = (
            f"could not be read as an Excel workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel and save it again as .xlsx, or export it as CSV"
        )
    return PermanentError(ErrorKind.INVALID_INPUT, f"{path.name} {reason}")


def _web_page(path: Path) -> PermanentError:
    return PermanentError(
        ErrorKind.INVALID_INPUT,
        f"{path.name} is a web page (HTML), not a sheet: a sharing link often saves its "
        "sign-in page; download the sheet itself (File > Download > .xlsx or .csv)",
    )


def is_workbook(path: Path) -> bool:
    """Whether `path` holds an .xlsx workbook, whatever its name says (a zip)."""
    return (_head(path) or b"").startswith(_ZIP)


def web_page_list_error(path: Path, text: str) -> PermanentError | None:
    """The error for a list of links that is a saved web page, or None when it is not one."""
    if not _WEB_PAGE.match(text[:1024].lstrip("\ufeff")):
        return None
    return PermanentError(
        ErrorKind.INVALID_INPUT,
        f"{path.name} is a web page (HTML), not a list of links: copy the links themselves "
        "into a text file, one a line",
    )


def _head(path: Path) -> bytes | None:
    try:
        with path.open("rb") as file:
            return file.read(512)
    except OSError:
        return None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 42 as 42.0
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _build_table(
    name: str,
    raw_rows: Iterable[list[str]],
    warnings: list[str],
    links: dict[tuple[int, int], str] | None = None,
) -> Table:
    numbered = [(n, [c.strip() for c in row]) for n, row in enumerate(raw_rows, start=1)]
    content = [(n, row) for n, row in numbered if any(row) or _has_link(n, row, links)]
    if not content:
        raise PermanentError(ErrorKind.INVALID_INPUT, f"{name} is empty: it has no rows")
    return _table_from(name, content, warnings, links or {})


def _has_link(number: int, row: list[str], links: dict[tuple[int, int], str] | None) -> bool:
    return bool(links) and any((number, i) in links for i in range(len(row)))


def _table_from(
    name: str,
    content: list[tuple[int, list[str]]],
    warnings: list[str],
    links: dict[tuple[int, int], str],
) -> Table:
    header_number, headers = content[0][0], list(content[0][1])
    while headers and not headers[-1]:  # spreadsheets often carry empty trailing columns
        headers.pop()
    if len(content) == 1:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{name} has no rows below its header (row {header_number}); add one link per row",
        )
    width = len(headers)
    rows = [(n, (row + [""] * width)[:width]) for n, row in content[1:]]
    return Table(
        name=name,
        headers=headers,
        header_row=header_number,
        rows=rows,
        warnings=warnings,
        links=links,
        content=content,
    )
