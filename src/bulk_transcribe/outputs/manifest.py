"""A session's summary files: manifest.json for programs, items.csv for spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bulk_transcribe.models import Item, Session, SessionCounts
from bulk_transcribe.outputs.atomic import atomic_write_chunks

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
ROWS_PER_CHUNK = 1000  # items written at a time: a session's files are never held whole


def write_manifest(
    session: Session,
    items: Iterable[Item],
    counts: SessionCounts,
    metrics: Mapping[str, Any] | None = None,
    *,
    folder: Path | None = None,
    input_problems: Sequence[str] = (),
) -> Path:
    """`input_problems`: the entries of the input that never became items (a bad row, a
    feed that could not be read), so the record of what was not transcribed outlives the
    terminal that showed them."""
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
        "input_problems": list(input_problems),
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST_NAME
    atomic_write_chunks(path, _manifest_chunks(manifest, _ordered(items), folder))
    return path


def _manifest_chunks(
    manifest: dict[str, Any], items: Iterable[Item], folder: Path
) -> Iterator[bytes]:
    """The manifest as json.dumps(indent=2) would write it with its items last, a thousand
    items at a time."""
    head = json.dumps(manifest, ensure_ascii=False, indent=2, default=str)
    parts = [head[: -len("\n}")] + ',\n  "items": [']
    first = True
    for item in items:
        entry = json.dumps(_item_entry(item, folder), ensure_ascii=False, indent=2, default=str)
        parts.append(("\n" if first else ",\n") + "    " + entry.replace("\n", "\n    "))
        first = False
        if len(parts) >= ROWS_PER_CHUNK:
            yield "".join(parts).encode("utf-8")
            parts = []
    parts.append("]\n}\n" if first else "\n  ]\n}\n")
    yield "".join(parts).encode("utf-8")


def write_items_csv(session: Session, items: Iterable[Item], *, folder: Path | None = None) -> Path:
    folder = folder or session.folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ITEMS_CSV_NAME
    atomic_write_chunks(path, _csv_chunks(_ordered(items), folder))
    return path


def _csv_chunks(items: Iterable[Item], folder: Path) -> Iterator[bytes]:
    # The BOM is what makes Excel read the file as UTF-8 instead of the local code page.
    yield "\ufeff".encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, item in enumerate(items, start=1):
        writer.writerow(_csv_row(item, folder))
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


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


def _ordered(items: Iterable[Item]) -> Iterable[Item]:
    """A list in position order; anything else is taken as already in it (a store's pages)."""
    if isinstance(items, Sequence):
        return sorted(items, key=lambda item: item.position)
    return items


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
