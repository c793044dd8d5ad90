"""Persistence: SQLite holds sessions, items, attempts, transcripts and events; everything else
reads it. One class per table family, all over one connection (database.py); `Store` is them
together, the one object the runner writes through and the views read from."""

from bulk_transcribe.store.archive import (
    ALREADY_DONE,
    ArchivedEpisode,
    ArchivedItem,
    ArchiveTable,
    RunningElsewhere,
)
from bulk_transcribe.store.chunks import ChunksTable
from bulk_transcribe.store.database import Database, Fence, Superseded, database_error, utc_now
from bulk_transcribe.store.events import Event, EventsTable
from bulk_transcribe.store.items import ItemsTable, item_key
from bulk_transcribe.store.ownership import OwnershipTable
from bulk_transcribe.store.read_models import MonitorReads
from bulk_transcribe.store.sessions import SessionsTable, new_session_id
from bulk_transcribe.store.transcripts import StoredTranscript, TranscriptsTable


class Store(
    SessionsTable,
    OwnershipTable,
    ArchiveTable,  # and ItemsTable, which it extends
    TranscriptsTable,
    ChunksTable,
    EventsTable,
    MonitorReads,
    Database,
):
    """Every state change of a session goes through here, and is durable on return."""


__all__ = [
    "ALREADY_DONE",
    "ArchivedEpisode",
    "ArchivedItem",
    "Database",
    "Event",
    "Fence",
    "ItemsTable",
    "RunningElsewhere",
    "Store",
    "StoredTranscript",
    "Superseded",
    "database_error",
    "item_key",
    "new_session_id",
    "utc_now",
]
