"""The Ask box in a real Chromium against a real `streamlit run`: a question answered by a chat
server on 127.0.0.1 from the transcripts of real sessions, each sentence with a link to the
moment it rests on, the passages used shown."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bulk_transcribe.store import Store
from tests.fakes.chat_server import FakeChatServer
from tests.samples import SAMPLE_MEDIA
from tests.store.sessions import SegmentsEngine, local_specs, transcribe
from tests.web.browser import UI_TIMEOUT
from tests.web.conftest import ARTIFACTS, AppServer

SCRIPT = {
    "harbour": [
        (0.0, 3.0, "Boats came in at dawn."),
        (75.0, 80.0, "The lighthouse keeper waved from the gallery."),
    ],
    "orchard": [(0.0, 4.0, "Apples grow by the old mill.")],
}
ANSWER = json.dumps(
    {"sentences": [{"text": "The lighthouse keeper waved from the gallery.", "citations": [1]}]}
)


@pytest.fixture(scope="module")
def ask_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, Path, list]]:
    folder = tmp_path_factory.mktemp("ask-app")
    out = folder / "output"
    media = folder / "media"
    media.mkdir()
    for name in SCRIPT:
        shutil.copy(SAMPLE_MEDIA[0], media / f"{name}.wav")
    with Store(out / "bulk_transcribe.db") as store:
        transcribe(store, out, local_specs(sorted(media.iterdir())), SegmentsEngine(SCRIPT))
    with FakeChatServer(default=ANSWER) as chat, pytest.MonkeyPatch.context() as patch:
        patch.setenv("BULK_TRANSCRIBE_CHAT_API_BASE", chat.base_url)
        patch.setenv("BULK_TRANSCRIBE_CHAT_MODEL", "test-model")
        patch.setenv("BULK_TRANSCRIBE_RATE_LIMIT_DB", str(folder / "budgets.sqlite"))
        server = AppServer(out, folder / "streamlit.log")
        try:
            server.wait_ready()
            yield server, media, chat.bodies
        finally:
            server.stop()


def test_the_ask_box_answers_with_links_to_the_moments(
    page: Page, ask_app: tuple[AppServer, Path, list]
) -> None:
    server, media, prompts = ask_app
    page.set_default_timeout(UI_TIMEOUT * 3)
    page.goto(f"{server.url}/Search_Transcripts")
    page.get_by_label("Question").fill("Who waved from the lighthouse?")
    page.get_by_role("button", name="Ask").click()

    sentence = page.locator(".ask-sentence").first
    expect(sentence).to_contain_text("The lighthouse keeper waved from the gallery.")
    link = sentence.locator("a.ask-citation")
    expect(link).to_have_count(1)
    expect(link).to_contain_text("[1] ▶ 1:15")  # where the keeper was heard, not the passage start
    assert link.get_attribute("href") == f"{(media / 'harbour.wav').as_uri()}#t=75"

    page.get_by_text("Passages used (1)").click()
    expect(page.get_by_text("Boats came in at dawn.", exact=False)).to_be_visible()
    (prompt,) = prompts
    assert "The lighthouse keeper waved from the gallery." in prompt["messages"][-1]["content"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ask-answered.png"), full_page=True)
