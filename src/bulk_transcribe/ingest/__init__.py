"""Ingest: what the user gives (lists, sheets, folders, files, URLs) -> de-duplicated ItemSpecs."""

from bulk_transcribe.ingest.columns import parse_column_overrides
from bulk_transcribe.ingest.loader import load_inputs
from bulk_transcribe.ingest.paths import MEDIA_EXTENSIONS
from bulk_transcribe.ingest.result import IngestResult, InvalidEntry

__all__ = [
    "MEDIA_EXTENSIONS",
    "IngestResult",
    "InvalidEntry",
    "load_inputs",
    "parse_column_overrides",
]
