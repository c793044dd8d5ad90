"""From a question to a quote, in a real Chromium against a real `streamlit run`: search
YouTube (recorded Data API answers over real HTTP), choose three videos, transcribe them
(real yt-dlp downloads from 127.0.0.1, the real local model), find a phrase said in one of
them and open its link at that moment (youtube.com answered by a recording)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from bulk_transcribe.models import ItemStatus
from bulk_transcribe.store import Store
from tests.research.media import media_for, recorded_videos
from tests.research.recorded_youtube import environment
from tests.research.recordings import FakeDataApi, solar_videos
from tests.web.browser import RUN_TIMEOUT, UI_TIMEOUT
from tests.web.conftest import ARTIFACTS, AppServer

KEY = "browser-test-key"
SLOW_UI = UI_TIMEOUT * 3  # a first page load or a session start on a machine shared by many
CHOSEN = ("sol00000001", "sol00000003", "sol00000006")  # the solar, coffee and train samples


@pytest.fixture(scope="module")
def research_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    folder = tmp_path_factory.mktemp("research-app")
    videos = solar_videos()
    with (
        FakeDataApi({"solar panels": videos}, key=KEY) as api,
        media_for(videos, folder / "media") as media,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("YOUTUBE_API_KEY", KEY)
        patch.setenv("BULK_TRANSCRIBE_YOUTUBE_API_BASE", api.base_url)
        for name, value in environment(media, recorded_videos(videos), folder).items():
            patch.setenv(name, value)
        server = AppServer(folder / "output", folder / "streamlit.log")
        try:
            server.wait_ready()
            yield server
        finally:
            server.stop()


def wait_done(database: Path, count: int) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        if database.exists():
            with Store(database) as store:
                items = [i for s in store.list_sessions() for i in store.items(s.id)]
            if len(items) == count and all(i.status.finished for i in items):
                problems = [i.error_message for i in items if i.status is not ItemStatus.DONE]
                assert not problems, problems
                return
        time.sleep(0.5)
    raise AssertionError("the chosen videos were not transcribed in time")


def test_search_choose_three_transcribe_then_find_a_phrase_and_open_it(
    page: Page, research_app: AppServer
) -> None:
    page.set_default_timeout(SLOW_UI)
    page.goto(f"{research_app.url}/Find_Videos")
    page.get_by_label("Search YouTube").fill("solar panels")
    page.get_by_role("button", name="Search", exact=True).click()
    for chosen, video_id in enumerate(CHOSEN, start=1):
        card = page.locator(f".st-key-video-{video_id}")
        expect(card).to_be_visible(timeout=SLOW_UI)
        page.locator(f".st-key-choose-{video_id}").get_by_text("Transcribe").click()
        # The rerun this click starts has drawn the page again before the next click: while
        # it draws, a card can hold its old and its new checkbox at once.
        expect(page.get_by_role("button", name=f"Transcribe {chosen} chosen")).to_be_visible()
    expect(page.get_by_text("1,200,000 views")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "research-1-chosen.png"), full_page=True)

    start = page.get_by_role("button", name="Transcribe 3 chosen")
    expect(start).to_be_enabled(timeout=SLOW_UI)
    start.click()
    page.wait_for_url(re.compile(r"Bulk_Transcribe\?session="), timeout=SLOW_UI)
    wait_done(research_app.database, len(CHOSEN))

    page.goto(f"{research_app.url}/Search_Transcripts")
    page.get_by_label("Search", exact=True).fill("engineers")
    page.keyboard.press("Enter")
    hit = page.locator(".st-key-hit-0")
    expect(hit.locator("mark")).to_have_text(re.compile("engineers", re.I), timeout=SLOW_UI)
    expect(hit).to_contain_text("How solar panels work")
    page.screenshot(path=str(ARTIFACTS / "research-2-found.png"), full_page=True)

    link = hit.locator("a.moment-link")
    href = link.get_attribute("href") or ""
    found = re.fullmatch(r"https://www\.youtube\.com/watch\?v=sol00000001&t=(\d+)s", href)
    assert found, href
    assert int(found.group(1)) > 0  # the engineers are mentioned well into the video

    def youtube(route: Route) -> None:  # youtube.com, as recorded: the watch page
        route.fulfill(status=200, content_type="text/html", body="<title>Watch</title>ok")

    page.context.route("https://www.youtube.com/**", youtube)
    with page.context.expect_page() as opened:
        link.click()
    video = opened.value
    video.wait_for_load_state()
    assert video.url == href
