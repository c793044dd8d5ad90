"""Entries from the rows of a table, with title and extra columns carried along."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.ingest.classify import classify_entry, split_links
from bulk_transcribe.ingest.columns import (
    LINK_LIKE,
    ColumnMapping,
    UrlColumn,
    header_key,
    map_columns,
)
from bulk_transcribe.ingest.result import Entry, InvalidEntry
from bulk_transcribe.ingest.tables import Table

_WEB_LINK = re.compile(r"^https?://", re.IGNORECASE)
# A cell that is one link and nothing else: what tells a column of links by its cells (a
# line of another delimiter read as one cell, "https://…/a.mp3|Title", is not one).
_LONE_LINK = re.compile(r"^https?://[^\s|<>\"{}^`]+$", re.IGNORECASE)
# How far down a sheet its header is looked for, below a title or a merged banner row.
_HEADER_SEARCH_ROWS = 10


def sheet_entries(
    table: Table, overrides: Mapping[str, str], base_dirs: Sequence[Path] | None
) -> list[Entry]:
    """One entry per non-empty row; origins read "<table> row N", numbered as the sheet shows."""
    if _is_headerless(table, overrides):
        # A bare column of links with no header: its first row is data, not names.
        headers = [f"column_{i}" for i in range(1, len(table.headers) + 1)]
        rows = [(table.header_row, table.headers), *table.rows]
        first_link = next(i for i, h in enumerate(table.headers) if _WEB_LINK.match(h))
        mapping = ColumnMapping(url_columns=(UrlColumn(first_link, "any"),))
    else:
        table, mapping, titles_linked = sheet_mapping(table, overrides)
        if titles_linked:
            table.warnings.append(
                f"{table.name}: no column is named for links, but the cells of "
                f"'{table.headers[mapping.url_columns[0].index]}' link to them: read those "
                "links, titled by the text"
            )
        headers, rows = table.headers, table.rows
    metadata_keys = _metadata_keys(headers, mapping)
    return [
        entry
        for number, cells in rows
        for entry in _row_entries(
            cells,
            _linked_cells(table, number, cells),
            f"{table.name} row {number}",
            mapping,
            metadata_keys,
            base_dirs,
        )
    ]


def sheet_mapping(table: Table, overrides: Mapping[str, str]) -> tuple[Table, ColumnMapping, bool]:
    """The table from its header row and its columns' roles, as its rows will be read (a
    preview shows the same), and whether no column is named for links but one's cells link
    to them (titles linked to their media: each cell gives a link and, by its text, a
    title). PermanentError when no column gives links."""
    try:
        table, mapping = _find_header(table, overrides)
    except PermanentError:
        if "url" in overrides:
            raise
        linked = _linked_column(table)
        if linked is not None:
            mapping = ColumnMapping(url_columns=(UrlColumn(linked, "any"),), title=linked)
            return table, mapping, True
        found = _column_of_links(table, overrides)
        if found is None:
            raise
        return *found, False
    return table, mapping, False


def with_found_header(table: Table) -> Table:
    """`table` read from the header row `sheet_entries` would find (below a banner row), or
    as it is when none maps: what a preview shows as the sheet's columns."""
    if _is_headerless(table, {}):
        return table
    try:
        return _find_header(table, {})[0]
    except PermanentError:
        return table


def _find_header(table: Table, overrides: Mapping[str, str]) -> tuple[Table, ColumnMapping]:
    """The table read from its real header row, and its columns' roles. Sheets people keep
    often open with a title, a note or a merged banner row above the header ("Episodes for
    Q3" over "Title | Date | Audio URL"): the header is the first of the top rows whose
    columns can be mapped and whose link column below holds something like a link (a row
    of data with "link" in a cell is no header). Without one, the first row's error stands;
    rows passed over are named in a warning, so none is lost unsaid."""
    try:
        mapping = map_columns(table.headers, table.name, overrides)
    except PermanentError as first_error:
        found = _header_below(table, overrides, _HEADER_SEARCH_ROWS)
        if found is None:
            raise first_error from None
        return found
    if table.rows and not _row_has_link(table, mapping, *table.rows[0]):
        # A banner whose one word maps ("Source", merged over the columns) above the real
        # header ("URL | Title"): the header below it is the sheet's, or its titles are lost
        # and its header is reported as a row that is no link.
        return _header_below(table, overrides, 2) or (table, mapping)
    return table, mapping


def _header_below(
    table: Table, overrides: Mapping[str, str], search_rows: int
) -> tuple[Table, ColumnMapping] | None:
    """The first of the rows below the first one (up to `search_rows` down) that maps as a
    header over a column holding links, with the rows above it named in a warning."""
    for position in range(1, min(len(table.content) - 1, search_rows)):
        candidate = table.with_header_at(position)
        try:
            mapping = map_columns(candidate.headers, candidate.name, overrides)
        except PermanentError:
            continue
        if not _holds_links(candidate, mapping):
            continue
        last = table.content[position - 1][0]
        above = f"row {last} was" if position == 1 else f"rows {table.header_row}-{last} were"
        candidate.warnings.append(
            f"{table.name}: its header is row {candidate.header_row}; {above} read as a "
            "title above it and skipped"
        )
        return candidate, mapping
    return None


def _row_has_link(table: Table, mapping: ColumnMapping, number: int, cells: list[str]) -> bool:
    linked = _linked_cells(table, number, cells)
    return any(LINK_LIKE.search(linked[column.index]) for column in mapping.url_columns)


def _holds_links(table: Table, mapping: ColumnMapping) -> bool:
    """Whether some row has a link or a file name in one of the mapped link columns."""
    return any(
        LINK_LIKE.search(_linked_cells(table, number, cells)[column.index])
        for number, cells in table.rows
        for column in mapping.url_columns
    )


def _column_of_links(
    table: Table, overrides: Mapping[str, str]
) -> tuple[Table, ColumnMapping] | None:
    """The sheet read from the row above its first link, with the column that mostly holds
    links as its link column, when no header names one ("Video", "Media address", "Lien"):
    the links themselves say which column it is. The other roles are still found by name."""
    first_link = next(
        (
            position
            for position, (number, cells) in enumerate(table.content[: _HEADER_SEARCH_ROWS + 1])
            if any(_LONE_LINK.match(cell) for cell in _linked_cells(table, number, cells))
        ),
        None,
    )
    if not first_link:  # none near the top, or in the first row (a headerless list)
        return None
    candidate = table if first_link == 1 else table.with_header_at(first_link - 1)
    keys = [header_key(header) for header in candidate.headers]
    if any(header_key(header) not in keys for header in overrides.values()):
        return None  # a --column naming no column here: its own error says so
    named = {keys.index(header_key(header)) for header in overrides.values()}
    best, best_links = None, 0
    for index in range(len(candidate.headers)):
        if index in named:  # the user gave that column another role
            continue
        cells = [_linked_cells(candidate, n, row)[index] for n, row in candidate.rows]
        filled = sum(1 for cell in cells if cell)
        links = sum(1 for cell in cells if _LONE_LINK.match(cell))
        if links * 2 >= filled and links > best_links:
            best, best_links = index, links
    if best is None:
        return None
    above_header = [
        cells[best] for _, cells in table.content[: first_link - 1] if len(cells) > best
    ]
    if sum(1 for cell in above_header if cell) > 1:
        return None  # rows of data before the first link, not a title: no column of links
    # The column named for the mapping by a name no header can have, the rest by theirs.
    marker = "\x00links"
    headers = [marker if i == best else h for i, h in enumerate(candidate.headers)]
    mapping = map_columns(headers, candidate.name, {**overrides, "url": marker})
    shown = candidate.headers[best] or f"column {best + 1}"
    above = ""
    if first_link > 1:
        last = table.content[first_link - 2][0]
        skipped = f"row {last}" if first_link == 2 else f"rows {table.header_row}-{last}"
        above = f"; {skipped} above its header (row {candidate.header_row}) skipped as a title"
    candidate.warnings.append(
        f"{table.name}: no column is named for links; read the links in '{shown}', the "
        f"column that holds them{above} (--column url=NAME picks another)"
    )
    return candidate, mapping


def _linked_column(table: Table) -> int | None:
    """The column whose cells mostly link elsewhere ("Episode 1" linked to its page), when
    no header names a link column: the sheets people export from web pages look so."""
    counts: dict[int, int] = {}
    for number, _cells in table.rows:
        for index in range(len(table.headers)):
            if (number, index) in table.links:
                counts[index] = counts.get(index, 0) + 1
    if not counts:
        return None
    best = max(counts, key=lambda index: counts[index])
    return best if counts[best] * 2 >= len(table.rows) else None


def _linked_cells(table: Table, number: int, cells: list[str]) -> list[str]:
    """`cells` with each one that shows text but links elsewhere replaced by its link."""
    if not table.links:
        return cells
    return [
        cell if _WEB_LINK.match(cell) else table.links.get((number, index), cell)
        for index, cell in enumerate(cells)
    ]


def _row_entries(
    cells: list[str],
    linked: list[str],
    origin: str,
    mapping: ColumnMapping,
    metadata_keys: list[str | None],
    base_dirs: Sequence[Path] | None,
) -> list[Entry]:
    """The row's item, or one per link when its link cell holds several (same title)."""
    url_index = mapping.pick_url_column(linked)
    if url_index is None:
        value = " | ".join(c for c in cells if c)
        return [InvalidEntry(origin, value, "row has no link in its link column")]
    metadata = {
        key: value
        for index, (key, value) in enumerate(zip(metadata_keys, cells, strict=True))
        if key is not None and value and index != url_index
    }
    title = cells[mapping.title] if mapping.title is not None else ""
    entries: list[Entry] = []
    for link in split_links(linked[url_index]):
        entry = classify_entry(link, origin, base_dirs)
        if not isinstance(entry, InvalidEntry):
            entry = replace(entry, title=title or entry.title, metadata=metadata)
        entries.append(entry)
    return entries


def _metadata_keys(headers: Sequence[str], mapping: ColumnMapping) -> list[str | None]:
    """The metadata key for each column, or None for columns whose value goes elsewhere."""
    keys: list[str | None] = []
    seen: set[str] = set()
    for index, header in enumerate(headers):
        if index in (mapping.title, mapping.source_type):
            keys.append(None)
            continue
        if index == mapping.description:
            key = "description"
        elif index == mapping.hints:
            key = "hints"  # the runner passes it to the engine as this item's prompt
        else:
            key = snake_case(header)
        key = key or f"column_{index + 1}"
        unique, n = key, 2
        while unique in seen:
            unique, n = f"{key}_{n}", n + 1
        seen.add(unique)
        keys.append(unique)
    return keys


def snake_case(header: str) -> str:
    """ "Show Notes" -> "show_notes", "publishedAt" -> "published_at"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.strip())
    return re.sub(r"[\W_]+", "_", spaced).strip("_").lower()


def _is_headerless(table: Table, overrides: Mapping[str, str]) -> bool:
    if "url" in overrides:
        return False
    return any(_WEB_LINK.match(h) for h in table.headers)
