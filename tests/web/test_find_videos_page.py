"""The Find videos page, run by Streamlit's AppTest: search (recorded Data API over real
HTTP), choose, and transcribe; the chosen videos' metadata reaches each note's frontmatter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from bulk_transcribe import sources
from bulk_transcribe.models import ItemStatus
from bulk_transcribe.store import Store
from bulk_transcribe.web.launch import app_path
from tests.research.media import media_for, recorded_videos
from tests.research.recorded_youtube import environment, install
from tests.research.recordings import FakeDataApi, solar_videos

APP = str(app_path())
PAGE = "pages/04_Find_Videos.py"
KEY = "page-test-key"


@pytest.fixture
def youtube(out_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDataApi]:
    videos = solar_videos()
    with (
        FakeDataApi({"solar panels": videos}, key=KEY) as api,
        media_for(videos, out_dir.parent / "media") as media,
    ):
        monkeypatch.setattr(sources, "SOURCES", list(sources.SOURCES))
        install(media, recorded_videos(videos))
        # The page starts each session's job in a process of its own: it installs the
        # same recording from these variables.
        for name, value in environment(media, recorded_videos(videos), out_dir.parent).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
        monkeypatch.setenv("BULK_TRANSCRIBE_YOUTUBE_API_BASE", api.base_url)
        yield api


def find_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60).switch_page(PAGE).run()


def search(app: AppTest, text: str) -> AppTest:
    app.text_input(key="find-query").input(text)
    app.number_input(key="find-limit").set_value(4)
    return app.button(key="FormSubmitter:find-form-Search").click().run()


def test_search_choose_and_transcribe(youtube: FakeDataApi, out_dir: Path) -> None:
    app = search(find_page(), "solar panels")
    assert not app.exception
    captions = "\n".join(c.value for c in app.caption)
    assert "Searching with YouTube Data API" in captions
    assert "Energy Explained · 12:22 · 2023-05-01 · 1,200,000 views · no captions" in captions
    assert app.button(key="transcribe-chosen").disabled

    app.checkbox(key="choose-sol00000001").check()
    app.checkbox(key="choose-sol00000003").check().run()
    assert app.button(key="transcribe-chosen").label == "Transcribe 2 chosen"
    app.button(key="transcribe-chosen").click().run()

    with Store(out_dir / "bulk_transcribe.db") as store:
        (session,) = store.list_sessions()
        deadline = time.monotonic() + 300
        while store.counts(session.id).finished < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        items = store.items(session.id)
    assert [i.status for i in items] == [ItemStatus.DONE, ItemStatus.DONE], [
        i.error_message for i in items
    ]
    note = next(session.folder.glob("*.md")).read_text(encoding="utf-8")
    frontmatter = yaml.safe_load(note.split("---\n", 2)[1])
    assert frontmatter["source"].startswith("https://www.youtube.com/watch?v=sol0000000")
    assert frontmatter["search_query"] == "solar panels"
    assert frontmatter["channel"] in ("Energy Explained", "Money Matters")
    assert isinstance(frontmatter["view_count"], int)
    assert "&t=0s) " in note  # paragraphs linked to their moment in the video


def test_an_already_transcribed_video_is_marked(youtube: FakeDataApi, out_dir: Path) -> None:
    from bulk_transcribe.models import ItemSpec, SourceType

    with Store(out_dir / "bulk_transcribe.db") as store:
        session = store.create_session(out_dir, {})
        url = "https://www.youtube.com/watch?v=sol00000002"
        store.add_items(session.id, [ItemSpec(url, SourceType.YOUTUBE)])
        (item,) = store.items(session.id)
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.DONE, outputs=[])
    app = search(find_page(), "solar panels")
    captions = [c.value for c in app.caption]
    assert sum("✓ already transcribed" in c for c in captions) == 1


def test_a_refused_key_is_shown_as_an_error(youtube: FakeDataApi, monkeypatch) -> None:
    monkeypatch.setenv("YOUTUBE_API_KEY", "wrong-secret")
    app = search(find_page(), "solar panels")
    (error,) = app.error
    assert "check YOUTUBE_API_KEY" in error.value and "wrong-secret" not in error.value


def test_a_question_is_planned_and_scored_with_costs_shown(
    youtube: FakeDataApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.fakes.chat_server import FakeChatServer
    from tests.research.test_planner import judge

    youtube.results["solar panels snow"] = solar_videos()[5:8]
    with FakeChatServer(default=judge) as chat:
        chat.then(json.dumps({"queries": ["solar panels snow"]}))
        monkeypatch.setenv("BULK_TRANSCRIBE_CHAT_API_BASE", chat.base_url)
        monkeypatch.setenv("BULK_TRANSCRIBE_CHAT_MODEL", "test-model")
        app = find_page()
        app.checkbox(key="find-plan").check()
        app.checkbox(key="find-score").check()
        app = search(app, "Do panels cope with snow?")
    captions = "\n".join(c.value for c in app.caption)
    assert "Planning searches: about 1 call, " in captions
    assert "Scoring relevance: about 1 call, " in captions
    assert "Scored 3 videos: 1 call, " in captions
    assert "Relevance 0.90: about solar panels" in captions
