"""Rows of the database as the models the rest of the program uses."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bulk_transcribe.models import (
    Item,
    ItemStatus,
    Owner,
    Session,
    SessionCommand,
    SessionStatus,
    SourceType,
    Stage,
)


def session_from_row(row: sqlite3.Row) -> Session:
    return Session(
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=SessionStatus(row["status"]),
        out_dir=Path(row["out_dir"]),
        settings=json.loads(row["settings_json"]),
        command=SessionCommand(row["command"]) if row["command"] else None,
        owner=owner_from_row(row),
    )


def owner_from_row(row: sqlite3.Row) -> Owner | None:
    if row["owner_id"] is None:
        return None
    return Owner(
        id=row["owner_id"],
        host=row["owner_host"] or "",
        pid=row["owner_pid"] or 0,
        machine=row["owner_machine"] or "",
        started=row["owner_started"] or 0.0,
        generation=row["owner_generation"],
        heartbeat_at=row["heartbeat_at"] or 0.0,
    )


def item_from_row(row: sqlite3.Row) -> Item:
    return Item(
        id=row["id"],
        session_id=row["session_id"],
        position=row["position"],
        key=row["key"],
        source=row["source"],
        source_type=SourceType(row["source_type"]),
        title=row["title"],
        metadata=json.loads(row["metadata_json"]),
        origin=row["origin"],
        status=ItemStatus(row["status"]),
        stage=Stage(row["stage"]),
        progress=row["progress"],
        duration=row["duration"],
        method=row["method"],
        language=row["language"],
        attempts=row["attempts"],
        error_kind=row["error_kind"],
        error_message=row["error_message"],
        outputs=json.loads(row["outputs_json"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        updated_at=row["updated_at"],
    )
