"""A user's whole afternoon in a real Chromium: paste, upload, run in parallel, refresh, stop,
resume, download; against a real `streamlit run` and media served over HTTP on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bulk_transcribe.models import SessionStatus
from bulk_transcribe.store import Store
from tests.web.browser import UI_TIMEOUT, BulkPage
from tests.web.conftest import AppServer


@pytest.fixture
def bulk(page: Page, app_server: AppServer) -> BulkPage:
    return BulkPage(page, app_server.url).open()


def talk_urls(media_server: str, numbers: range, tag: str) -> list[str]:
    """Links to the long talks; the tag keeps each test's links its own."""
    return [f"{media_server}/talk_{n:02d}.wav?run={tag}" for n in numbers]


def test_a_pasted_and_uploaded_batch_runs_in_parallel_survives_a_refresh_and_downloads(
    bulk: BulkPage, media_server: str, app_server: AppServer, tmp_path: Path, browser
) -> None:
    bulk.paste(talk_urls(media_server, range(1, 4), "flow"))
    bulk.expect_valid(3)
    sheet = tmp_path / "more talks.csv"
    rows = [
        f"Talk {n},{url}"
        for n, url in zip(range(4, 7), talk_urls(media_server, range(4, 7), "flow"), strict=True)
    ]
    sheet.write_text("Name,Where to get it\n" + "\n".join(rows) + "\n")
    bulk.upload(sheet)
    expect(bulk.page.get_by_text("read the links in 'Where to get it'")).to_be_visible(
        timeout=UI_TIMEOUT
    )
    bulk.choose("Link column", "Where to get it")
    bulk.choose("Title column", "Name")
    bulk.expect_valid(6)
    bulk.set_parallel(True, concurrency=3)
    bulk.screenshot("workflow-1-ready")

    session_id = bulk.start(6)

    seen = bulk.record_until(lambda s: len(s.running_rows) >= 2 and len(s.cards) >= 2)
    bulk.screenshot("workflow-2-parallel")
    titles = {row["Title"] for row in seen.snapshots[-1].running_rows}
    assert len(titles) >= 2

    bulk.page.reload()  # a refresh mid-run finds the job still running
    expect(bulk.page.get_by_text("· running")).to_be_visible(timeout=UI_TIMEOUT)
    assert bulk.session_id == session_id

    second = BulkPage(browser.new_page(), app_server.url).open(session_id)  # another tab
    bulk.page.close()  # ...and the first one closed
    finished = second.wait_finished()
    second.screenshot("workflow-3-finished")
    last = finished.snapshots[-1]
    assert len(last.rows) == 6 and all(r["Status"] == "done" for r in last.rows)
    assert {"Talk 4", "Talk 5", "Talk 6"} <= {r["Title"] for r in last.rows}

    with second.page.expect_download() as download:
        second.button("TXT").click()
    text = Path(download.value.path()).read_text()
    assert download.value.suggested_filename.endswith(".txt")
    assert "solar" in text.lower() or "library" in text.lower()  # real words of the talks
    second.page.close()


def test_stop_finishes_the_running_item_and_resume_completes_the_rest(
    bulk: BulkPage, media_server: str, app_server: AppServer
) -> None:
    # Long recordings: a short clip can be transcribed (read ahead) before Stop arrives.
    talks = [f"{media_server}/talk_{n:02d}.wav?run=stop" for n in range(1, 5)]
    bulk.paste(talks)
    bulk.expect_valid(len(talks))
    bulk.set_parallel(False)
    bulk.start(len(talks))
    bulk.record_until(lambda s: len(s.running_rows) == 1)

    bulk.control("Stop")
    # The item that was running finishes; the rest stay queued for a resume.
    stopped = bulk.record_until(
        lambda s: (
            "stopped" in s.status_line
            and not s.running_rows
            and len(s.rows) == len(talks)  # the whole table, not one mid-redraw
        )
    )
    bulk.screenshot("stop-resume-1-stopped")
    statuses = {int(row["#"]): row["Status"] for row in stopped.snapshots[-1].rows}
    assert statuses[1] == "done" and "queued" in statuses.values()
    with Store(app_server.database) as store:
        assert store.get_session(bulk.session_id).status is SessionStatus.STOPPED

    bulk.button("Resume").click()
    finished = bulk.wait_finished()
    bulk.screenshot("stop-resume-2-finished")
    assert all(row["Status"] == "done" for row in finished.snapshots[-1].rows)


def test_a_bad_upload_shows_its_error_and_nothing_can_start(bulk: BulkPage, tmp_path: Path) -> None:
    broken = tmp_path / "links.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is no workbook")
    bulk.upload(broken)

    error = bulk.page.get_by_test_id("stAlert").filter(has_text="links.xlsx")
    expect(error).to_contain_text("links.xlsx is incomplete", timeout=UI_TIMEOUT)
    expect(bulk.page.get_by_role("button", name="Start transcribing 0 items")).to_be_disabled()
    bulk.screenshot("bad-upload")
