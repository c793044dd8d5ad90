"""Turning the command line's INPUTs into de-duplicated items and a report of unusable entries."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.ingest.classify import classify_entry, expanded_path
from bulk_transcribe.ingest.columns import normalise_overrides
from bulk_transcribe.ingest.decoding import decode_text, read_text
from bulk_transcribe.ingest.dedupe import merge_duplicates
from bulk_transcribe.ingest.paths import (
    find_media_files,
    is_media_path,
    printable_path,
    undecodable_name,
)
from bulk_transcribe.ingest.result import Entry, IngestResult, InvalidEntry
from bulk_transcribe.ingest.sheets import sheet_entries, sheet_mapping
from bulk_transcribe.ingest.tables import (
    SHEET_EXTENSIONS,
    Table,
    is_workbook,
    read_table,
    sheet_names,
    table_from_text,
    web_page_list_error,
)
from bulk_transcribe.ingest.text_list import markdown_note_entries, text_list_entries
from bulk_transcribe.models import ItemSpec, SourceType

STDIN_INPUT = "-"
MARKDOWN_EXTENSIONS = (".md", ".markdown")
_WEB_LINK = re.compile(r"^https?://", re.IGNORECASE)
_EXPECTED = (
    "expected a .txt list, a .md note, a .csv/.tsv/.xlsx sheet, a folder, a media file, "
    "an http(s) URL or - for standard input"
)


def load_inputs(
    inputs: Sequence[str],
    *,
    sheet: str | None = None,
    column_map: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    cwd: Path | None = None,
    server_files: bool = True,
) -> IngestResult:
    """Every INPUT read and classified; PermanentError for an INPUT that is unusable as a whole.

    `server_files=False` (a shared web app, whose INPUTs are its own temporary files): no entry
    inside them may name a file of this machine, and the disk is not asked about any."""
    cwd = (cwd or Path.cwd()).resolve()
    overrides = normalise_overrides(column_map or {})
    result = IngestResult()
    entries: list[Entry] = []
    for position, raw in enumerate(inputs, start=1):
        entries.extend(
            _input_entries(
                raw, position, sheet, overrides, stdin, cwd, result.warnings, server_files
            )
        )
    if sheet is not None and not any(Path(i).suffix.lower() in (".xlsx", ".xlsm") for i in inputs):
        result.warnings.append(f"--sheet {sheet} was ignored: it applies only to .xlsx inputs")
    result.invalid = [e for e in entries if isinstance(e, InvalidEntry)]
    result.items, result.duplicates_merged = merge_duplicates(
        e for e in entries if isinstance(e, ItemSpec)
    )
    return result


def _input_entries(
    raw: str,
    position: int,
    sheet: str | None,
    overrides: Mapping[str, str],
    stdin: TextIO | None,
    cwd: Path,
    warnings: list[str],
    server_files: bool = True,
) -> list[Entry]:
    if not raw.strip():
        # As a path it would be the current folder, and every media file under it would be
        # transcribed: what `run "$LIST"` with an unset variable meant, never.
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"INPUT {position} is empty (an unset variable in a script?); {_EXPECTED}; "
            "to transcribe this folder, give it as .",
        )
    problem = undecodable_name(Path(raw))
    if problem is not None:  # named in another encoding: nothing read from it can be stored
        raise PermanentError(
            ErrorKind.INVALID_INPUT, f"cannot use '{printable_path(Path(raw))}': {problem}"
        )
    if raw == STDIN_INPUT:
        text = _read_stdin(stdin or sys.stdin)
        piped_sheet = _pasted_sheet(text, "stdin", overrides)  # `cat links.csv | … run -`
        if piped_sheet is not None:
            entries = sheet_entries(piped_sheet, overrides, [cwd])
            warnings.extend(piped_sheet.warnings)  # after: reading may add one
            return entries
        return text_list_entries(text.splitlines(), "stdin", [cwd])
    if _WEB_LINK.match(raw.strip()):
        return [_argument_entry(raw, position, cwd)]
    path = cwd / expanded_path(raw.strip())
    suffix = path.suffix.lower()
    if _is_dir(path):
        return _folder_entries(path, raw, warnings)
    if not _is_file(path):
        return [_argument_entry(raw, position, cwd)]
    base_dirs = _unique([path.parent.resolve(), cwd]) if server_files else None
    if suffix == ".txt":
        if is_workbook(path):  # a sheet saved under a list's name: read it as the sheet
            return _workbook_entries(path, sheet, overrides, base_dirs, warnings)
        text, warning = read_text(path)
        web_page = web_page_list_error(path, text)
        if web_page is not None:
            raise web_page
        warnings.extend([warning] if warning else [])
        pasted_sheet = _pasted_sheet(text, path.name, overrides)  # cells copied from a sheet
        if pasted_sheet is not None:
            entries = sheet_entries(pasted_sheet, overrides, base_dirs)
            warnings.extend(pasted_sheet.warnings)
            return entries
        return text_list_entries(text.splitlines(), path.name, base_dirs)
    if suffix in MARKDOWN_EXTENSIONS:  # a note listing what to transcribe (Obsidian)
        text, warning = read_text(path)
        warnings.extend([warning] if warning else [])
        entries = markdown_note_entries(text.splitlines(), path.name, base_dirs)
        if not entries:
            warnings.append(f"{path.name} names no links or media files")
        return entries
    if suffix in (".xlsx", ".xlsm"):
        return _workbook_entries(path, sheet, overrides, base_dirs, warnings)
    if suffix in SHEET_EXTENSIONS:
        table = read_table(path)
        entries = sheet_entries(table, overrides, base_dirs)
        warnings.extend(table.warnings)  # after: reading it may add one (a skipped title row)
        return entries
    if is_media_path(path):
        problem = undecodable_name(path)
        if problem is not None:
            raise PermanentError(
                ErrorKind.INVALID_INPUT, f"cannot use '{printable_path(path)}': {problem}"
            )
        return [ItemSpec(str(path.resolve()), SourceType.LOCAL_FILE, origin=f"argument {position}")]
    hint = "; save old .xls workbooks as .xlsx" if suffix == ".xls" else ""
    kind = suffix or "no extension"
    raise PermanentError(
        ErrorKind.INVALID_INPUT,
        f"cannot use '{raw}': unsupported file type '{kind}'; {_EXPECTED}{hint}",
    )


def _pasted_sheet(text: str, name: str, overrides: Mapping[str, str]) -> Table | None:
    """`text` as a table when it is one: a header naming its links, or cells copied from a
    spreadsheet whose links sit under another name ("Title<tab>Video"), which were read as
    lines, their header reported as an entry that is no link."""
    table = table_from_text(text, name)
    if table is not None:
        return table
    copied = table_from_text(text, name, named_links=False)
    if copied is None:
        return None
    try:
        sheet_mapping(copied, overrides)
    except PermanentError:
        return None
    return copied


def _read_stdin(stdin: TextIO) -> str:
    """Standard input decoded like a list file: PowerShell pipes UTF-16 into programs."""
    buffer = getattr(stdin, "buffer", None)
    if buffer is None:  # already text (a StringIO, a test)
        return stdin.read()
    text, _warning = decode_text(buffer.read(), "standard input")
    return text


def _argument_entry(raw: str, position: int, cwd: Path) -> ItemSpec:
    """A non-existing path is only acceptable as a URL or YouTube id."""
    entry = classify_entry(raw, f"argument {position}", [cwd])
    if isinstance(entry, InvalidEntry):
        raise PermanentError(
            ErrorKind.INVALID_INPUT, f"cannot use '{raw}': {entry.reason}; {_EXPECTED}"
        )
    return entry


def _workbook_entries(
    path: Path,
    sheet: str | None,
    overrides: Mapping[str, str],
    base_dirs: list[Path] | None,
    warnings: list[str],
) -> list[Entry]:
    """The entries of the chosen worksheet; without --sheet, of the first one that has a
    column of links: workbooks often open with a "Read me" or an empty sheet."""
    try:
        table = read_table(path, sheet)
        entries = sheet_entries(table, overrides, base_dirs)
    except PermanentError as first_error:
        names = sheet_names(path) if sheet is None else []
        others = names[1:]
        for name in others:
            try:
                table = read_table(path, name)
                entries = sheet_entries(table, overrides, base_dirs)
            except PermanentError:
                continue
            warnings.append(
                f"{path.name}: its first sheet '{names[0]}' has no links to read; read sheet "
                f"'{name}', the first that has (--sheet picks another)"
            )
            break
        else:
            if others:
                listing = ", ".join(f"'{n}'" for n in others)
                raise PermanentError(
                    ErrorKind.INVALID_INPUT,
                    f"{first_error.message}; no other sheet ({listing}) has one either: "
                    "pick one with --sheet NAME",
                ) from first_error
            raise
    warnings.extend(table.warnings)
    return entries


def _folder_entries(folder: Path, raw: str, warnings: list[str]) -> list[Entry]:
    special: list[tuple[Path, str]] = []
    files = find_media_files(folder, special)
    if not files:
        warnings.append(f"folder {raw} contains no media files (.mp3, .m4a, .wav, .mp4, …)")
    origin = f"folder {raw}"
    skipped: list[Entry] = [
        InvalidEntry(origin, printable_path(path), f"is {kind}, not a media file")
        for path, kind in special
    ]
    entries: list[Entry] = []
    for file in files:
        problem = undecodable_name(file)
        if problem is None:
            entries.append(ItemSpec(str(file), SourceType.LOCAL_FILE, origin=origin))
        else:
            skipped.append(InvalidEntry(origin, printable_path(file), problem))
    return [*entries, *skipped]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a name too long to be a path is simply not one
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))
