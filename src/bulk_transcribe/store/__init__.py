"""Persistence: SQLite holds sessions, items, attempts and events; everything else reads it."""

from bulk_transcribe.store.sqlite import Event, Store, new_session_id

__all__ = ["Event", "Store", "new_session_id"]
