"""A session's summary files: manifest.json for programs, items.csv for spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bulk_transcribe.models import Item, Session, SessionCounts
from bulk_transcribe.outputs.atomic import atomic_write_bytes, atomic_write_text

MANIFEST_NAME = "manifest.json"
ITEMS_CSV_NAME = "items.csv"
CSV_COLUMNS = (
    "position",
    "key",
    "status",
    "title",
    "source",
    "source_type",
    "duration_seconds",
    "method",
    "language",
    "attempts",
    "error_kind",
    "error",
    "outputs",
    "started_at",
    "finished_at",
)
_SECRET_MARKERS = ("key", "token", "secret", "password")
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def write_manifest(
    session: Session,
    items: Sequence[Item],
    counts: SessionCounts,
    metrics: Mapping[str, Any] | None = None,
    *,
    folder: Path | None = None,
) -> Path:
    folder = folder or session.folder
    manifest = {
        "session": {
            "id": session.id,
            "created_at": session.created_at,
            "updated_at": session.updated_at,
            "status": str(session.status),
            "settings": redact_secrets(session.settings),
        },
        "counts": {**asdict(counts), "finished": counts.finished},
        "metrics": dict(metrics or {}),
        "items": [_item_entry(item, folder) for item in _ordered(items)],
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST_NAME
    text = json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n"
    atomic_write_text(path, text)
    return path


def write_items_csv(session: Session, items: Sequence[Item], *, folder: Path | None = None) -> Path:
    folder = folder or session.folder
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in _ordered(items):
        writer.writerow(_csv_row(item, folder))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ITEMS_CSV_NAME
    # The BOM is what makes Excel read the file as UTF-8 instead of the local code page.
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8-sig"))
    return path


def redact_secrets(value: Any) -> Any:
    """Drop every mapping key that looks like a credential, at any depth."""
    if isinstance(value, Mapping):
        return {
            k: redact_secrets(v)
            for k, v in value.items()
            if not any(marker in str(k).lower() for marker in _SECRET_MARKERS)
        }
    if isinstance(value, list | tuple):
        return [redact_secrets(v) for v in value]
    return value


def _ordered(items: Sequence[Item]) -> list[Item]:
    return sorted(items, key=lambda item: item.position)


def _item_entry(item: Item, folder: Path) -> dict[str, Any]:
    return {
        "key": item.key,
        "position": item.position,
        "title": item.title,
        "source": item.source,
        "source_type": str(item.source_type),
        "status": str(item.status),
        "stage": str(item.stage),
        "duration_seconds": _seconds(item.duration),
        "method": item.method,
        "language": item.language,
        "attempts": item.attempts,
        "error_kind": item.error_kind,
        "error": item.error_message,
        "outputs": [_relative(output, folder) for output in item.outputs],
        "started_at": item.started_at,
        "finished_at": item.finished_at,
        "origin": item.origin,
        "metadata": item.metadata,
    }


def _csv_row(item: Item, folder: Path) -> list[str]:
    outputs = "; ".join(_relative(output, folder) for output in item.outputs)
    values: list[Any] = [
        item.position,
        item.key,
        item.status,
        _defuse_formula(item.title),
        _defuse_formula(item.source),
        item.source_type,
        _seconds(item.duration),
        item.method,
        item.language,
        item.attempts,
        item.error_kind,
        _defuse_formula(item.error_message),
        outputs,
        item.started_at,
        item.finished_at,
    ]
    return ["" if v is None else str(v) for v in values]


def _seconds(duration: float | None) -> float | None:
    return round(duration, 1) if duration is not None else None


def _relative(output: str, folder: Path) -> str:
    path = Path(output)
    if path.is_absolute():
        try:
            path = path.relative_to(folder)
        except ValueError:
            return path.as_posix()  # outside the session folder: keep it whole
    return path.as_posix()


def _defuse_formula(text: str | None) -> str | None:
    """Titles and errors come from the web; a leading ' stops Excel running them."""
    if text and text.startswith(_FORMULA_PREFIXES):
        return f"'{text}"
    return text
