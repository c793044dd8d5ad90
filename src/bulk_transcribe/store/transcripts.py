"""Transcripts: kept in the store, so outputs can always be written again."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from bulk_transcribe.models import (
    Segment,
    Transcript,
)
from bulk_transcribe.store.database import Database


@dataclass(frozen=True)
class StoredTranscript:
    transcript: Transcript
    transcribed_at: str  # UTC, ISO 8601


class TranscriptsTable(Database):
    """Saving and reading each done item's transcript."""

    def save_transcript(self, item_id: int, transcript: Transcript, transcribed_at: str) -> None:
        segments = [dataclasses.asdict(s) for s in transcript.segments]
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO transcripts (item_id, segments_json, language, duration,"
                " engine, model, method, timing_estimated, decoding_json, transcribed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item_id,
                    json.dumps(segments, ensure_ascii=False),
                    transcript.language,
                    transcript.duration,
                    transcript.engine,
                    transcript.model,
                    transcript.method,
                    int(transcript.timing_estimated),
                    json.dumps(transcript.decoding, default=str),
                    transcribed_at,
                ),
            )

    def transcript(self, item_id: int) -> StoredTranscript | None:
        rows = self._query("SELECT * FROM transcripts WHERE item_id = ?", (item_id,))
        if not rows:
            return None
        row = rows[0]
        transcript = Transcript(
            segments=[Segment(**s) for s in json.loads(row["segments_json"])],
            language=row["language"],
            duration=row["duration"],
            engine=row["engine"],
            model=row["model"],
            method=row["method"],
            timing_estimated=bool(row["timing_estimated"]),
            decoding=json.loads(row["decoding_json"]),
        )
        return StoredTranscript(transcript=transcript, transcribed_at=row["transcribed_at"])
