"""The list of sessions shown on Home and the Sessions page, newest first."""

from __future__ import annotations

import pandas as pd

from bulk_transcribe.models import Session
from bulk_transcribe.store import Store
from bulk_transcribe.web.controls import STATUS_BADGES
from bulk_transcribe.web.formatting import clock

COLUMNS = ["Session", "Created (UTC)", "Status", "Items", "Done", "Failed", "Remaining", "Audio"]


def sessions_frame(store: Store, sessions: list[Session]) -> pd.DataFrame:
    rows = []
    for session in sessions:
        counts = store.counts(session.id)
        _, label = STATUS_BADGES[session.status]  # icons do not render inside a table
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
