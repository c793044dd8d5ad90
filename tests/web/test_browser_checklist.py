"""The plan's UI checklist, each item a test, in a real Chromium against `streamlit run`:
toggle off works, toggle on works, the status table shows parallel operations, global
progress updates during concurrent processing, the current-video display works with several
videos, and a fall back to sequential is visible."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from bulk_transcribe.store import Store
from tests.web.browser import UI_TIMEOUT, BulkPage, Recording
from tests.web.conftest import AppServer

TALKS = 6
FINISHED = ("done", "failed", "skipped")


@pytest.fixture(scope="module")
def parallel_run(browser, app_server: AppServer, media_server: str) -> Iterator[Recording]:
    """Six ~90 s talks at three at a time, watched from start to finish."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    bulk = BulkPage(context.new_page(), app_server.url).open()
    bulk.paste([f"{media_server}/talk_{n:02d}.wav?run=checklist" for n in range(1, TALKS + 1)])
    bulk.expect_valid(TALKS)
    bulk.set_parallel(True, concurrency=3)
    bulk.start(TALKS)
    peak_shot = {"taken": False}

    def shoot_the_peak(snapshot) -> None:
        if not peak_shot["taken"] and len(snapshot.cards) >= 3:
            bulk.screenshot("checklist-parallel-peak")
            peak_shot["taken"] = True

    recording = bulk.wait_finished_recording(on_sample=shoot_the_peak)
    bulk.screenshot("checklist-parallel-finished")
    yield recording
    context.close()


@pytest.fixture(scope="module")
def sequential_run(browser, app_server: AppServer, media_server: str) -> Iterator[Recording]:
    """Three long recordings with the toggle left off (short clips can finish between two
    looks of the page, so no running row is ever seen)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    bulk = BulkPage(context.new_page(), app_server.url).open()
    bulk.paste([f"{media_server}/talk_{n:02d}.wav?run=sequential" for n in range(1, 4)])
    bulk.expect_valid(3)
    bulk.set_parallel(False)
    bulk.start(3)
    recording = bulk.wait_finished_recording()
    # .first: while the page redraws from live to still, the old notice may linger a moment
    expect(bulk.page.get_by_text("Sequential processing: one item at a time").first).to_be_visible()
    bulk.screenshot("checklist-sequential-finished")
    yield recording
    context.close()


def test_toggle_off_works_one_item_at_a_time(sequential_run: Recording) -> None:
    assert sequential_run.most_running_rows == 1
    assert sequential_run.most_cards == 1
    assert all(r["Status"] == "done" for r in sequential_run.snapshots[-1].rows)


def test_toggle_on_works_several_items_at_once(parallel_run: Recording) -> None:
    assert parallel_run.most_running_rows >= 2
    last = parallel_run.snapshots[-1]
    assert len(last.rows) == TALKS and all(r["Status"] == "done" for r in last.rows)


def test_the_status_table_shows_parallel_operations_one_row_per_item(
    parallel_run: Recording,
) -> None:
    for snapshot in parallel_run.snapshots:
        if snapshot.rows:  # never a duplicated row, never a missing one
            assert sorted(int(r["#"]) for r in snapshot.rows) == list(range(1, TALKS + 1))
    busiest = max(parallel_run.snapshots, key=lambda s: len(s.running_rows))
    assert len(busiest.running_rows) >= 2
    assert all(r["Stage"] in ("fetching", "transcribing", "writing") for r in busiest.running_rows)
    assert len({r["Title"] for r in busiest.running_rows}) == len(busiest.running_rows)


def test_global_progress_updates_during_concurrent_processing(parallel_run: Recording) -> None:
    percents = parallel_run.percents
    assert percents == sorted(percents), "progress never goes backwards"
    assert percents[-1] == 100
    during = [
        s.percent
        for s in parallel_run.snapshots
        if len(s.running_rows) >= 2 and s.percent is not None
    ]
    assert any(0 < p < 100 for p in during), "progress moved while several items ran"


def test_the_current_video_display_works_with_several_videos(parallel_run: Recording) -> None:
    def complete(card: str) -> bool:  # title, stage with percent (or an honest "working…"
        # before the first progress report), and elapsed time all shown
        return "talk_" in card and ("%" in card or "working…" in card) and "elapsed" in card

    several = [s for s in parallel_run.snapshots if sum(map(complete, s.cards)) >= 2]
    assert several, "Now processing never showed two items at once"
    cards = [card for card in several[0].cards if complete(card)]
    titles = {card.split("·", 1)[1].split("\n")[0].strip() for card in cards}
    assert len(titles) == len(cards), "each card is a different item"
    running_titles = {row["Title"] for row in several[0].running_rows}
    assert titles & running_titles or not running_titles


def _start_parallel(bulk: BulkPage, media_server: str, tag: str) -> str:
    bulk.paste([f"{media_server}/talk_{n:02d}.wav?run={tag}" for n in range(1, TALKS + 1)])
    bulk.expect_valid(TALKS)
    bulk.set_parallel(True, concurrency=3)
    session_id = bulk.start(TALKS)
    bulk.record_until(lambda s: len(s.running_rows) >= 2)
    return session_id


def test_a_fall_back_to_sequential_is_visible(
    page, app_server: AppServer, media_server: str
) -> None:
    bulk = BulkPage(page, app_server.url).open()
    session_id = _start_parallel(bulk, media_server, "fallback")

    with Store(app_server.database) as store:  # another view (e.g. the CLI) asks for 1
        store.request_concurrency(session_id, 1)

    notice = bulk.panel("global-progress").get_by_test_id("stAlert")
    expect(notice).to_contain_text("Sequential processing now", timeout=UI_TIMEOUT)
    expect(notice).to_contain_text("started with 3 at once", timeout=UI_TIMEOUT)
    expect(bulk.metric("Concurrency")).to_contain_text("1", timeout=UI_TIMEOUT)
    bulk.screenshot("checklist-fallback-sequential")
    bulk.control("Cancel")
    bulk.record_until(lambda s: "cancelled" in s.status_line)


def test_turning_parallel_off_mid_run_takes_effect_at_once(
    page, app_server: AppServer, media_server: str
) -> None:
    bulk = BulkPage(page, app_server.url).open()
    session_id = _start_parallel(bulk, media_server, "toggle-off")

    bulk.set_parallel(False)

    notice = bulk.panel("global-progress").get_by_test_id("stAlert")
    expect(notice).to_contain_text("Sequential processing now", timeout=UI_TIMEOUT)
    with Store(app_server.database) as store:
        assert store.requested_concurrency(session_id) == 1
    bulk.screenshot("checklist-toggle-off-mid-run")
    bulk.control("Cancel")
    bulk.record_until(lambda s: "cancelled" in s.status_line)
