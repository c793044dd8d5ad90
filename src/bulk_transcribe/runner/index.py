"""manifest.json and items.csv, regenerated from the store."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.models import Session
from bulk_transcribe.outputs import write_items_csv, write_manifest
from bulk_transcribe.store import Store


def write_outputs_index(
    store: Store, session_id: str, folder: Path | None = None, session: Session | None = None
) -> None:
    """Into the session's folder, or `folder` (an export elsewhere); `session` when the
    caller knows a newer state of it than the store has yet."""
    session = session or store.get_session(session_id)
    counts, metrics = store.counts(session_id), store.metrics(session_id)
    # Page by page from the store, in order: a big session is never held whole.
    write_manifest(session, store.iter_items(session_id), counts, metrics, folder=folder)
    write_items_csv(session, store.iter_items(session_id), folder=folder)
