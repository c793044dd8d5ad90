"""Finished items whose files are gone from the session folder (deleted mid-run, or before a
resume) are written again from the store when a run ends, so its manifest never lists files
that do not exist and a resume leaves the folder whole."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bulk_transcribe.models import ItemStatus, Session
from bulk_transcribe.outputs import write_transcript_files
from bulk_transcribe.outputs.summary_note import NoteEdited, write_summarised_note
from bulk_transcribe.store import Store
from bulk_transcribe.store.summaries import Summaries


def restore_missing_outputs(store: Store, session: Session, formats: tuple[str, ...]) -> int:
    """Write again the missing files of the session's finished items; files still there
    (edited or not) are left as they are. Returns how many items had files written."""
    folder = session.folder
    summaries: Summaries | None = None
    restored = 0
    for item in store.items(session.id, [ItemStatus.DONE]):
        missing = [name for name in item.outputs if not (folder / name).exists()]
        if not missing:
            continue
        stored = store.transcript(item.id)
        if stored is None:  # made before transcripts were kept: nothing to write from
            continue
        transcribed_at = datetime.fromisoformat(stored.transcribed_at)
        outputs = write_transcript_files(
            folder,
            session_id=session.id,
            item=item,
            transcript=stored.transcript,
            transcribed_at=transcribed_at,
            formats=formats,
            kept=[],  # only what is missing, or still reads as written, is written
        )
        summaries = summaries or Summaries(store)
        summary = summaries.get(item.id)
        if summary is not None and any(Path(name).suffix == ".md" for name in missing):
            with contextlib.suppress(NoteEdited):  # the note carries its summary again
                write_summarised_note(
                    folder,
                    item=replace(item, outputs=outputs),
                    transcript=stored.transcript,
                    session_id=session.id,
                    transcribed_at=transcribed_at,
                    summary=summary,
                )
        restored += 1
    return restored
