"""manifest.json and items.csv: a session summary without secrets, readable by Excel."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from bulk_transcribe.models import Item, ItemStatus, Session, SessionCounts, Stage
from bulk_transcribe.outputs import write_items_csv, write_manifest
from bulk_transcribe.outputs.manifest import CSV_COLUMNS

MakeItem = Callable[..., Item]
MakeSession = Callable[..., Session]

SECRET_SETTINGS = {
    "engine": "openai",
    "api_key": "sk-live-123",
    "OPENAI_API_KEY": "sk-live-456",
    "formats": ["md", "srt"],
    "out_dir": Path("/data/out"),
    "provider": {
        "name": "deapi",
        "auth": {"Token": "tok-789", "username": "ann"},
        "client_secret": "shh",
        "endpoints": [{"url": "https://api.example", "password": "pw"}],
    },
}
SECRET_VALUES = ("sk-live-123", "sk-live-456", "tok-789", "shh", '"pw"')


def _items(session: Session, make_item: MakeItem) -> list[Item]:
    folder = session.folder
    done = make_item(
        position=1,
        key="aaa111",
        title='=HYPERLINK("http://evil")',
        outputs=[str(folder / "talk__aaa111.md"), "talk__aaa111.srt"],
        metadata={"channel": "Rivers Weekly"},
    )
    failed = make_item(
        id=2,
        position=2,
        key="bbb222",
        title='Ünïcödé, with "quotes", commas\nand a newline',
        status=ItemStatus.FAILED,
        stage=Stage.FAILED,
        duration=None,
        attempts=3,
        error_kind="http",
        error_message="HTTP 404: the link is broken; check the URL",
        outputs=[],
        finished_at=None,
    )
    return [failed, done]  # out of order on purpose


def test_manifest_shape(make_session: MakeSession, make_item: MakeItem) -> None:
    session = make_session()
    counts = SessionCounts(total=2, done=1, failed=1, audio_seconds_total=62.3)
    path = write_manifest(session, _items(session, make_item), counts, {"wall_seconds": 12.5})
    assert path == session.folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert manifest["session"] == {
        "id": "20240501-abcd",
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:05:00Z",
        "status": "completed",
        "settings": {"formats": ["md", "srt"], "engine": "local"},
    }
    assert manifest["counts"]["done"] == 1 and manifest["counts"]["finished"] == 2
    assert manifest["metrics"] == {"wall_seconds": 12.5}
    first, second = manifest["items"]
    assert [first["position"], second["position"]] == [1, 2]
    assert list(first) == [
        "key", "position", "title", "source", "source_type", "status", "stage",
        "duration_seconds", "method", "language", "attempts", "error_kind", "error",
        "outputs", "started_at", "finished_at", "origin", "metadata",
    ]  # fmt: skip
    assert first["outputs"] == ["talk__aaa111.md", "talk__aaa111.srt"]
    assert first["duration_seconds"] == 62.3
    assert first["metadata"] == {"channel": "Rivers Weekly"}
    assert second["status"] == "failed" and second["error_kind"] == "http"
    assert second["error"] == "HTTP 404: the link is broken; check the URL"


def test_manifest_never_contains_secrets(make_session: MakeSession, make_item: MakeItem) -> None:
    session = make_session(settings=SECRET_SETTINGS)
    path = write_manifest(session, _items(session, make_item), SessionCounts())
    text = path.read_text(encoding="utf-8")
    for secret in SECRET_VALUES:
        assert secret not in text
    settings = json.loads(text)["session"]["settings"]
    assert settings == {
        "engine": "openai",
        "formats": ["md", "srt"],
        "out_dir": "/data/out",
        "provider": {
            "name": "deapi",
            "auth": {"username": "ann"},
            "endpoints": [{"url": "https://api.example"}],
        },
    }
    assert SECRET_SETTINGS["api_key"] == "sk-live-123"  # the caller's dict is left alone


def test_manifest_without_metrics_or_items(make_session: MakeSession) -> None:
    manifest = json.loads(write_manifest(make_session(), [], SessionCounts()).read_text())
    assert manifest["metrics"] == {} and manifest["items"] == []


def test_items_csv_parses_back(make_session: MakeSession, make_item: MakeItem) -> None:
    session = make_session()
    path = write_items_csv(session, _items(session, make_item))
    assert path == session.folder / "items.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    assert [row["position"] for row in rows] == ["1", "2"]
    done, failed = rows
    assert done["outputs"] == "talk__aaa111.md; talk__aaa111.srt"
    assert done["duration_seconds"] == "62.3"
    assert done["status"] == "done" and done["source_type"] == "youtube"
    assert failed["title"] == 'Ünïcödé, with "quotes", commas\nand a newline'
    assert failed["duration_seconds"] == "" and failed["finished_at"] == ""
    assert failed["attempts"] == "3" and failed["error_kind"] == "http"


def test_items_csv_defuses_spreadsheet_formulas(
    make_session: MakeSession, make_item: MakeItem
) -> None:
    session = make_session()
    path = write_items_csv(session, _items(session, make_item))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        titles = [row["title"] for row in csv.DictReader(handle)]
    assert titles[0] == '\'=HYPERLINK("http://evil")'


def test_files_are_written_atomically(make_session: MakeSession, make_item: MakeItem) -> None:
    session = make_session()
    write_manifest(session, [], SessionCounts())
    write_items_csv(session, [])
    assert sorted(p.name for p in session.folder.iterdir()) == ["items.csv", "manifest.json"]


def test_a_big_session_is_written_in_pieces_exactly_as_one_would_be(
    make_session: MakeSession, make_item: MakeItem
) -> None:
    session = make_session()
    items = [make_item(id=n, position=n, key=f"k{n}", title=f"Episode {n}") for n in range(2500)]
    counts = SessionCounts(total=2500, done=2500)

    manifest = write_manifest(session, iter(items), counts)  # an iterator: read as it goes
    text = manifest.read_text(encoding="utf-8")
    whole = json.loads(text)
    assert [entry["position"] for entry in whole["items"]] == list(range(2500))
    assert text == json.dumps(whole, ensure_ascii=False, indent=2) + "\n"

    table = write_items_csv(session, iter(items))
    with table.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(CSV_COLUMNS)
    assert [row[0] for row in rows[1:]] == [str(n) for n in range(2500)]


def test_a_session_without_items_still_has_a_valid_manifest(
    make_session: MakeSession,
) -> None:
    manifest = write_manifest(make_session(), iter([]), SessionCounts())
    assert json.loads(manifest.read_text(encoding="utf-8"))["items"] == []
