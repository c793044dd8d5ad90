"""Summaries beside a run: the note gets summary, key points and chapters linked to the moment;
a failing chat model never costs an item; `summarize` makes the missing ones later."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from bulk_transcribe.models import ItemStatus
from bulk_transcribe.runner import Runner, create_session
from bulk_transcribe.runner.summaries import summarize_session
from bulk_transcribe.service import export_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.store.summaries import Summaries
from tests.fakes.chat_server import FakeChatServer
from tests.samples import SAMPLE_MEDIA
from tests.store.sessions import SegmentsEngine, local_specs

SCRIPT = {
    "garden": [
        (0.0, 5.0, "Welcome to the garden show."),
        (5.0, 10.0, "Today we plant tomatoes."),
        (65.0, 70.0, "Now, roses."),
    ],
    "energy": [(0.0, 5.0, "Solar panels turn light into electricity.")],
}
SUMMARY = json.dumps(
    {
        "summary": "A garden show about tomatoes and roses.",
        "key_points": ["Plant tomatoes", "Roses next"],
        "chapters": [{"start": 0, "title": "Tomatoes"}, {"start": 65, "title": "Roses"}],
    }
)


def settings(tmp_path: Path, server: FakeChatServer, **values: Any) -> Settings:
    return Settings(
        out_dir=tmp_path / "out",
        formats="md,json",
        summarize=True,
        chat_api_base=server.base_url,
        chat_model="test-model",
        chat_timeout_seconds=20,
        rate_limit_db=tmp_path / "budgets.sqlite",
        concurrency=2,
        **values,
    )


def run(tmp_path: Path, store: Store, values: Settings) -> str:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    for name in SCRIPT:
        shutil.copy(SAMPLE_MEDIA[0], media / f"{name}.wav")
    specs = local_specs([media / f"{name}.wav" for name in SCRIPT])
    session = create_session(store, values, specs)
    Runner(store, session.id, values, engine=SegmentsEngine(SCRIPT)).run()
    return session.id


def note(store: Store, session_id: str, title: str) -> tuple[dict, str]:
    (item,) = [i for i in store.items(session_id) if i.display_title == title]
    path = store.get_session(session_id).folder / next(p for p in item.outputs if p.endswith("md"))
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1]), text


def test_each_note_gets_its_summary_and_chapters_linked_to_the_moment(tmp_path: Path) -> None:
    with FakeChatServer(default=SUMMARY) as server, Store(tmp_path / "db.sqlite") as store:
        session_id = run(tmp_path, store, settings(tmp_path, server))
        assert store.counts(session_id).done == 2
        frontmatter, text = note(store, session_id, "garden")
        media = (tmp_path / "media" / "garden.wav").as_uri()
        assert frontmatter["summary"] == "A garden show about tomatoes and roses."
        assert frontmatter["key_points"] == ["Plant tomatoes", "Roses next"]
        assert frontmatter["chapters"][1] == {
            "time": "1:05",
            "start_seconds": 65.0,
            "title": "Roses",
            "link": f"{media}#t=65",
        }
        assert f"- [1:05]({media}#t=65) Roses" in text
        assert text.index("## Summary") < text.index("## Transcript") < text.index("tomatoes.")
        assert "Welcome to the garden show." in text  # the transcript is all there
        assert any("Title: garden" in b["messages"][-1]["content"] for b in server.bodies)
        assert len(server.bodies) == 2  # one request per item


def test_a_failing_model_costs_no_item_and_summarize_makes_them_later(tmp_path: Path) -> None:
    with FakeChatServer(default=SUMMARY) as server, Store(tmp_path / "db.sqlite") as store:
        server.inject(*["503"] * 4)  # both tries of both items
        session_id = run(tmp_path, store, settings(tmp_path, server))
        assert [i.status for i in store.items(session_id)] == [ItemStatus.DONE] * 2
        failed = [e for e in store.events(session_id) if e.kind == "summary_failed"]
        assert len(failed) == 2 and "bulk-transcribe summarize" in failed[0].message
        frontmatter, text = note(store, session_id, "garden")
        assert "summary" not in frontmatter and "Welcome to the garden show." in text
        assert Summaries(store).missing(session_id) == [i.id for i in store.items(session_id)]

        made = summarize_session(store, session_id, settings(tmp_path, server))
        assert (made.made, made.failed) == (2, [])
        assert Summaries(store).missing(session_id) == []
        frontmatter, text = note(store, session_id, "garden")
        assert frontmatter["summary"].startswith("A garden show")
        assert "Welcome to the garden show." in text

        shutil.rmtree(store.get_session(session_id).folder)  # export writes it back, summary too
        export_session(store, session_id)
        frontmatter, _ = note(store, session_id, "garden")
        assert frontmatter["chapters"][0]["title"] == "Tomatoes"


def test_a_note_edited_before_its_summary_came_is_kept_and_export_overwrite_writes_it(
    tmp_path: Path,
) -> None:
    with FakeChatServer(default=SUMMARY) as server, Store(tmp_path / "db.sqlite") as store:
        server.inject(*["503"] * 4)  # no summaries during the run
        session_id = run(tmp_path, store, settings(tmp_path, server))
        _, text = note(store, session_id, "garden")
        (item,) = [i for i in store.items(session_id) if i.display_title == "garden"]
        path = store.get_session(session_id).folder / item.outputs[0]
        path.write_text(text + "\nMy notes.\n", encoding="utf-8")  # edited in Obsidian

        made = summarize_session(store, session_id, settings(tmp_path, server))
        assert made.made == 2  # both summaries kept in the store
        assert path.read_text(encoding="utf-8") == text + "\nMy notes.\n"
        (kept,) = [e for e in store.events(session_id) if "edited since" in e.message]
        assert "--overwrite" in kept.message
        frontmatter, _ = note(store, session_id, "energy")  # not edited: rewritten
        assert frontmatter["summary"].startswith("A garden show")

        assert [p.name for p in export_session(store, session_id).kept] == [path.name]
        export_session(store, session_id, overwrite=True)
        frontmatter, text = note(store, session_id, "garden")
        assert frontmatter["summary"].startswith("A garden show") and "My notes." not in text


def test_a_run_that_cannot_reach_a_chat_model_says_so_and_transcribes(tmp_path: Path) -> None:
    with FakeChatServer(default=SUMMARY) as server, Store(tmp_path / "db.sqlite") as store:
        values = settings(tmp_path, server).model_copy(update={"chat_model": None})
        session_id = run(tmp_path, store, values)
        assert store.counts(session_id).done == 2
        (said,) = [e for e in store.events(session_id) if e.kind == "summary_failed"]
        assert "no chat model is configured" in said.message
        assert server.bodies == []
