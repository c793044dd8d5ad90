"""What the user gave, made into items: lists, sheets, folders and links read; playlists,
channels and feeds expanded; links checked. The views' only way into ingest and sources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from bulk_transcribe.ingest import IngestResult, InvalidEntry, load_inputs, parse_column_overrides
from bulk_transcribe.ingest.columns import ColumnMapping, map_columns
from bulk_transcribe.ingest.dedupe import merge_duplicates
from bulk_transcribe.ingest.expand import ExpandResult, Expansion, expand_items
from bulk_transcribe.ingest.sheets import sheet_mapping, with_found_header
from bulk_transcribe.ingest.tables import Table, read_table
from bulk_transcribe.models import Entry, ItemSpec
from bulk_transcribe.service.uploads import UploadedMedia, keep_upload
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import is_collection
from bulk_transcribe.sources.link_check import LinkCheck, check_links

__all__ = [
    "ColumnMapping",
    "ExpandResult",
    "Expansion",
    "IngestResult",
    "InvalidEntry",
    "LinkCheck",
    "Table",
    "UploadedMedia",
    "check_links",
    "expand",
    "is_collection",
    "keep_uploaded_media",
    "map_columns",
    "needs_expansion",
    "read_inputs",
    "read_table",
    "sheet_mapping",
    "with_found_header",
    "with_uploaded_media",
]


def read_inputs(
    inputs: Sequence[str],
    *,
    sheet: str | None = None,
    columns: Sequence[str] | Mapping[str, str] = (),
    stdin: IO[str] | None = None,
    server_files: bool = True,
) -> IngestResult:
    """Items from lists, sheets, folders, media files, links or '-' (stdin); `columns` maps
    sheet columns, as `url=Link` texts or a mapping. Raises TranscribeError when unusable.

    A shared web app passes `server_files=False`: no entry may name a file of the server,
    and every one that is not a link gets the same answer whatever the server's disk holds."""
    column_map = dict(columns) if isinstance(columns, Mapping) else parse_column_overrides(columns)
    return load_inputs(
        list(inputs), sheet=sheet, column_map=column_map, stdin=stdin, server_files=server_files
    )


def keep_uploaded_media(out_dir: Path, upload: UploadedMedia) -> Entry:
    """A media file uploaded to the web app, kept under OUT/uploads, as an item (or why not)."""
    return keep_upload(out_dir, upload)


def with_uploaded_media(result: IngestResult, entries: Sequence[Entry]) -> IngestResult:
    """`result` and the uploaded media's entries as one input, duplicates merged."""
    uploaded = [entry for entry in entries if isinstance(entry, ItemSpec)]
    items, merged = merge_duplicates([*result.items, *uploaded])
    return IngestResult(
        items=items,
        invalid=[*result.invalid, *(e for e in entries if isinstance(e, InvalidEntry))],
        duplicates_merged=result.duplicates_merged + merged,
        warnings=list(result.warnings),
    )


def needs_expansion(specs: Sequence[ItemSpec]) -> bool:
    """Whether any item is remote, so expanding may need the network."""
    return any(spec.source_type.is_remote for spec in specs)


def expand(specs: Sequence[ItemSpec], settings: Settings) -> ExpandResult:
    """Playlists, channels and feeds become their items (a few listing requests each), links
    that do not say what they are are asked; everything else is kept as it is."""
    if not needs_expansion(specs):
        return ExpandResult(items=list(specs))
    return expand_items(list(specs), settings)
