"""`bulk-transcribe search`: find videos through the Data API (recorded, over real HTTP),
list them, and write the list `run` reads back with each video's metadata."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_transcribe.ingest import load_inputs
from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.store import Store
from tests.research.recordings import FakeDataApi, solar_videos

KEY = "yt-test-key-123"


@pytest.fixture
def data_api() -> Iterator[FakeDataApi]:
    with FakeDataApi({"solar panels": solar_videos()}, key=KEY) as server:
        yield server


def search_cli(server: FakeDataApi, *args: str, key: str = KEY, cwd: Path | None = None):
    env = {
        **os.environ,
        "COLUMNS": "200",
        "YOUTUBE_API_KEY": key,
        "BULK_TRANSCRIBE_YOUTUBE_API_BASE": server.base_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "bulk_transcribe.cli", "search", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_search_lists_videos_and_writes_a_list_run_reads(data_api, tmp_path: Path) -> None:
    db = tmp_path / "out" / "bulk_transcribe.db"
    with Store(db) as store:  # the second video was transcribed before
        session = store.create_session(tmp_path / "out", {})
        store.add_items(
            session.id,
            [ItemSpec("https://www.youtube.com/watch?v=sol00000002", SourceType.YOUTUBE)],
        )
        (item,) = store.items(session.id)
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.DONE, outputs=[])
    listing = tmp_path / "list.csv"
    result = search_cli(
        data_api, "solar panels", "--limit", "3", "--save", str(listing), "--db", str(db)
    )
    assert result.returncode == 0, result.stderr
    assert "Searching with YouTube Data API" in result.stderr
    assert "How solar panels work" in result.stdout and "12:22" in result.stdout
    assert "1,200,000" in result.stdout
    assert "✓: already transcribed in this store." in result.stdout
    rows = list(csv.DictReader(listing.open(encoding="utf-8")))
    assert [r["url"] for r in rows] == [
        f"https://www.youtube.com/watch?v=sol0000000{n}" for n in (1, 2, 3)
    ]
    assert rows[0]["channel"] == "Energy Explained" and rows[0]["duration"] == "742"
    assert rows[0]["has_captions"] == "no" and rows[1]["has_captions"] == "yes"

    ingested = load_inputs([str(listing)])
    first = ingested.items[0]
    assert (first.source, first.source_type, first.title) == (
        "https://www.youtube.com/watch?v=sol00000001",
        SourceType.YOUTUBE,
        "How solar panels work",
    )
    assert first.metadata["channel"] == "Energy Explained"
    assert first.metadata["upload_date"] == "2023-05-01"
    assert first.metadata["view_count"] == "1200000"
    assert first.metadata["search_query"] == "solar panels"


def test_search_prints_json_and_honours_filters(data_api) -> None:
    result = search_cli(
        data_api, "solar panels", "--json", "--min-duration", "20m", "--max-duration", "1h",
        "--after", "2023-01-01", "--order", "date",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [v["title"] for v in found] == [
        "Perovskite cells: the next step",
        "Solar panel installation guide",
        "Solar panel recycling",
        "Solar vs wind",
        "Off-grid cabin power",
    ]
    assert all(1200 <= v["duration"] <= 3600 for v in found)


def test_search_explains_a_refused_key_without_showing_it(data_api) -> None:
    result = search_cli(data_api, "solar panels", key="my-secret-wrong-key")
    assert result.returncode == 2
    assert "check YOUTUBE_API_KEY" in result.stderr
    assert "my-secret-wrong-key" not in result.stderr + result.stdout


def test_search_rejects_a_bad_duration(data_api) -> None:
    result = search_cli(data_api, "solar panels", "--min-duration", "soon")
    assert result.returncode == 2
    assert "is not a duration" in result.stderr


def test_a_question_is_planned_searched_and_scored(data_api, monkeypatch) -> None:
    from tests.fakes.chat_server import FakeChatServer
    from tests.research.test_planner import judge

    data_api.results["solar panels snow"] = solar_videos()[5:8]
    data_api.by_id.update({v.video_id: v for v in solar_videos()})
    plan = json.dumps({"queries": ["solar panels snow", "solar panels"]})
    with FakeChatServer(default=judge) as chat:
        chat.then(plan, "not json", judge)  # the first scoring batch is retried once
        monkeypatch.setenv("BULK_TRANSCRIBE_CHAT_API_BASE", chat.base_url)
        monkeypatch.setenv("BULK_TRANSCRIBE_CHAT_MODEL", "test-model")
        monkeypatch.setenv("BULK_TRANSCRIBE_CHAT_INPUT_PRICE", "0.15")
        monkeypatch.setenv("BULK_TRANSCRIBE_CHAT_OUTPUT_PRICE", "0.60")
        result = search_cli(
            data_api, "Do panels work in snow?", "--plan", "--score", "--limit", "5", "--json"
        )
    assert result.returncode == 0, result.stderr
    assert "Planning searches: about 1 call, " in result.stderr
    assert "Searched: solar panels snow; solar panels" in result.stderr
    assert "Scoring relevance: about 1 call, " in result.stderr
    assert "Scored 8 videos: 2 calls, " in result.stderr and "$0.0" in result.stderr
    found = json.loads(result.stdout)
    assert len(found) == 8  # 3 from one search, 5 from the other
    assert all(v["relevance"] is not None and v["reason"] for v in found)
    assert [v["relevance"] for v in found] == sorted((v["relevance"] for v in found), reverse=True)


def test_planning_without_a_chat_model_says_how_to_set_one(data_api) -> None:
    result = search_cli(data_api, "anything", "--plan")
    assert result.returncode == 2
    assert "set BULK_TRANSCRIBE_CHAT_MODEL and BULK_TRANSCRIBE_CHAT_API_BASE" in result.stderr
