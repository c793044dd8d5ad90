"""The Ask box on the Search transcripts page, run by Streamlit's AppTest over real sessions
and a chat server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bulk_transcribe.store import Store
from bulk_transcribe.web.launch import app_path
from tests.fakes.chat_server import FakeChatServer
from tests.samples import SAMPLE_MEDIA
from tests.store.sessions import SegmentsEngine, local_specs, transcribe

APP = str(app_path())
PAGE = "pages/05_Search_Transcripts.py"
SCRIPT = {
    "harbour": [(0.0, 3.0, "Boats came in."), (75.0, 80.0, "The lighthouse keeper waved.")],
    "orchard": [(0.0, 4.0, "Apples grow by the old mill.")],
}
ANSWER = json.dumps(
    {"sentences": [{"text": "The keeper waved at the boats.", "citations": [1, 3]}]}
)


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeChatServer]:
    with FakeChatServer(default=ANSWER) as server:
        monkeypatch.setenv("BULK_TRANSCRIBE_CHAT_API_BASE", server.base_url)
        monkeypatch.setenv("BULK_TRANSCRIBE_CHAT_MODEL", "test-model")
        monkeypatch.setenv("BULK_TRANSCRIBE_RATE_LIMIT_DB", str(tmp_path / "budgets.sqlite"))
        yield server


def sessions(out_dir: Path, store: Store) -> Path:
    media = out_dir.parent / "media"
    media.mkdir()
    for name in SCRIPT:
        shutil.copy(SAMPLE_MEDIA[0], media / f"{name}.wav")
    transcribe(store, out_dir, local_specs(sorted(media.iterdir())), SegmentsEngine(SCRIPT))
    return media


def ask(question: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=30).switch_page(PAGE).run()
    app.text_input(key="ask-question").input(question)
    app.button[0].click().run()  # the form's Ask
    return app


def test_the_answer_links_each_sentence_to_its_moments(
    out_dir: Path, store: Store, chat: FakeChatServer
) -> None:
    media = sessions(out_dir, store)
    app = ask("Who waved from the lighthouse?")
    assert not app.exception
    markdown = "\n".join(m.value for m in app.markdown)
    assert "The keeper waved at the boats." in markdown
    assert f'href="{(media / "harbour.wav").as_uri()}#t=75"' in markdown
    assert "[1] ▶" in markdown and "[3]" not in markdown  # passage 3 was never given
    assert "1 citation to passages that were not given was dropped." in [
        c.value for c in app.caption
    ]
    assert "The lighthouse keeper waved." in chat.bodies[0]["messages"][-1]["content"]


def test_nothing_relevant_is_said_without_asking(
    out_dir: Path, store: Store, chat: FakeChatServer
) -> None:
    sessions(out_dir, store)
    app = ask("zebras?")
    assert any("model was not asked" in i.value for i in app.info)
    assert chat.bodies == []


def test_a_quotation_the_passages_do_not_hold_is_flagged(
    out_dir: Path, store: Store, chat: FakeChatServer
) -> None:
    sessions(out_dir, store)
    made_up = 'The keeper shouted "all boats stay in the harbour tonight".'
    chat.then(json.dumps({"sentences": [{"text": made_up, "citations": [1]}]}))
    app = ask("Who waved from the lighthouse?")
    assert not app.exception
    assert any(
        "Quotation not found in the passages it cites" in c.value
        and "all boats stay in the harbour tonight" in c.value
        for c in app.caption
    )
