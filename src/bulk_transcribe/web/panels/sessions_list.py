"""The list of sessions shown on Home and the Sessions page, newest first."""

from __future__ import annotations

import pandas as pd

from bulk_transcribe.models import Session
from bulk_transcribe.store import Store
from bulk_transcribe.web.formatting import clock
from bulk_transcribe.web.panels.controls import run_state, status_badge
from bulk_transcribe.web.state.runs import Runs

COLUMNS = ["Session", "Created (UTC)", "Status", "Items", "Done", "Failed", "Remaining", "Audio"]


def sessions_frame(store: Store, sessions: list[Session], runs: Runs) -> pd.DataFrame:
    rows = []
    for session in sessions:
        counts = store.counts(session.id)
        # No icons inside a table.
        _, label = status_badge(session, run_state(session, runs), counts.failed)
        rows.append(
            (
                session.id,
                session.created_at.replace("T", " ")[:19],
                label,
                counts.total,
                counts.done,
                counts.failed,
                counts.queued + counts.running,
                clock(counts.audio_seconds_total),
            )
        )
    return pd.DataFrame(rows, columns=COLUMNS)
