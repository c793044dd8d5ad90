"""Vocabulary hints typed in the Settings panel reach the session and are remembered, in a
real Chromium against `streamlit run`."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.settings_panel import HINTS_LABEL
from tests.web.browser import UI_TIMEOUT, BulkPage
from tests.web.conftest import AppServer

HINTS = "Sweynheim, Pannartz, photovoltaic"


def test_names_and_terms_typed_in_settings_reach_the_session_and_are_remembered(
    page: Page, app_server: AppServer, media_server: str, browser
) -> None:
    bulk = BulkPage(page, app_server.url).open()
    field = page.get_by_role("textbox", name=HINTS_LABEL)
    field.fill(HINTS)
    field.press("Tab")  # Streamlit takes a text field's value when it loses focus
    bulk.paste([f"{media_server}/01_solar_panels.wav?run=hints"])
    bulk.expect_valid(1)

    session_id = bulk.start(1)
    finished = bulk.wait_finished()
    assert [row["Status"] for row in finished.snapshots[-1].rows] == ["done"]
    with Store(app_server.database) as store:
        session = store.get_session(session_id)
        item = store.items(session_id)[0]
    assert session.settings["prompt"] == HINTS  # what the engine is given for every item
    assert item.source.endswith("run=hints")

    later = BulkPage(browser.new_page(), app_server.url).open()  # the next visit
    expect(later.page.get_by_role("textbox", name=HINTS_LABEL)).to_have_value(
        HINTS, timeout=UI_TIMEOUT
    )
    later.page.close()
