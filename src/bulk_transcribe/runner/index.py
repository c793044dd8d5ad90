"""manifest.json and items.csv, regenerated from the store."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.models import Session
from bulk_transcribe.outputs import write_items_csv, write_manifest
from bulk_transcribe.store import Store

INVALID_INPUT_EVENT = "invalid_input"  # as service.start_session logs them
_OPENING_EVENTS = frozenset({"expanded", INVALID_INPUT_EVENT})  # start_session's notes


def write_outputs_index(
    store: Store, session_id: str, folder: Path | None = None, session: Session | None = None
) -> None:
    """Into the session's folder, or `folder` (an export elsewhere); `session` when the
    caller knows a newer state of it than the store has yet."""
    session = session or store.get_session(session_id)
    counts, metrics = store.counts(session_id), store.metrics(session_id)
    # Page by page from the store, in order: a big session is never held whole.
    write_manifest(
        session,
        store.iter_items(session_id),
        counts,
        metrics,
        folder=folder,
        input_problems=_input_problems(store, session_id),
    )
    write_items_csv(session, store.iter_items(session_id), folder=folder)


def _input_problems(store: Store, session_id: str) -> list[str]:
    """The entries the session was started without, from its log: they are written there
    when it is created, among the notes that open it, so reading stops at the first event
    of the run itself."""
    problems: list[str] = []
    after = 0
    while True:
        events = store.events(session_id, after_id=after)
        for event in events:
            if event.kind not in _OPENING_EVENTS:
                return problems
            if event.kind == INVALID_INPUT_EVENT:
                problems.append(event.message)
        if not events:
            return problems
        after = events[-1].id
