"""What tripped users at scale, each checked in a real Chromium against `streamlit run`: pasted
links without a shortcut, a double Start, leaving the page mid-run, a stale second tab,
an ETA from unknown lengths, a binary upload."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from bulk_transcribe import service
from bulk_transcribe.models import NO_SPEECH, ItemSpec, ItemStatus, SessionStatus, SourceType
from bulk_transcribe.settings import DEFAULT_MODEL
from bulk_transcribe.store import Store
from bulk_transcribe.web.wording import model_label
from tests.engines.conftest import OPENAI_KEY
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.proxy_server import ForwardProxy
from tests.samples import SAMPLE_MEDIA
from tests.store.sessions import SegmentsEngine, local_specs, transcribe
from tests.web.browser import START_TIMEOUT, UI_TIMEOUT, BulkPage
from tests.web.conftest import AppServer, make_session, pretend_running


def sessions_with(store: Store, source: str) -> list[str]:
    return [s.id for s in store.list_sessions() if source in {i.source for i in store.items(s.id)}]


def test_pasted_links_count_without_a_shortcut_a_double_start_makes_one_session_and_the_job_is_found_after_leaving(  # noqa: E501
    page: Page, app_server: AppServer, media_server: str
) -> None:
    bulk = BulkPage(page, app_server.url).open()
    links = [f"{media_server}/talk_{n:02d}.wav?run=double" for n in (1, 2)]
    page.get_by_label("Paste links").fill("\n".join(links))  # no Ctrl+Enter, no click away
    page.get_by_role("button", name="Use these links").click()
    bulk.expect_valid(2)

    page.get_by_role("button", name="Start transcribing 2 items").dblclick()
    page.wait_for_url(re.compile(r"session="), timeout=START_TIMEOUT)
    session_id = bulk.session_id
    expect(page.get_by_text(f"Session {session_id}")).to_be_visible(timeout=UI_TIMEOUT)
    # The monitor is on top; input and settings are folded away, saying what still applies.
    expect(page.get_by_text("Live settings")).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.get_by_text("1) Input URLs")).not_to_be_visible()
    # The table follows the figures; another batch's form is drawn only when asked for.
    expect(page.locator(".st-key-panel-status-table [data-testid='stDataFrame']")).to_be_visible(
        timeout=UI_TIMEOUT
    )
    page.get_by_text("Start another batch (input and settings)").click()
    expect(page.get_by_text("1) Input URLs")).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.get_by_text("apply to the next batch you start")).to_be_visible()
    with Store(app_server.database) as store:
        assert sessions_with(store, links[0]) == [session_id]

    page.get_by_role("link", name="Home").click()
    running_now = page.locator(".st-key-running-now")
    expect(running_now).to_contain_text(session_id, timeout=UI_TIMEOUT)
    page.get_by_role("link", name="Bulk Transcribe").click()
    expect(page.get_by_text(f"Session {session_id}")).to_be_visible(timeout=UI_TIMEOUT)
    assert bulk.session_id == session_id

    bulk.control("Cancel")
    bulk.record_until(lambda s: "cancelled" in s.status_line)
    with Store(app_server.database) as store:
        assert sessions_with(store, links[0]) == [session_id]  # still one, after all of it


def test_a_tab_left_on_a_stopped_session_follows_a_resume_made_elsewhere(
    browser, app_server: AppServer, media_server: str
) -> None:
    with Store(app_server.database) as store:
        session_id = make_session(
            store,
            [f"{media_server}/{SAMPLE_MEDIA[0].name}?run=stale"],
            status=SessionStatus.STOPPED,
        )
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    stale = BulkPage(context.new_page(), app_server.url).open(session_id)
    expect(stale.page.get_by_text("stopped: resumable")).to_be_visible(timeout=UI_TIMEOUT)
    expect(stale.metric("ETA")).to_contain_text("paused")
    sessions = context.new_page()
    sessions.goto(f"{app_server.url}/Sessions")
    # The list has drawn this session (its grid's accessible table: the grid itself is a
    # canvas). Not "a text Session is visible": that also matched the table's hidden header.
    expect(sessions.locator('table[role="grid"]')).to_contain_text(session_id, timeout=UI_TIMEOUT)

    other = BulkPage(context.new_page(), app_server.url).open(session_id)
    other.button("Resume").click()

    # Neither the stale tab nor the Sessions page is reloaded: both follow on their own.
    stale.record_until(lambda s: "completed" in s.status_line)
    # `.first`: while Streamlit redraws, the old and the new progress text can both be there.
    expect(stale.page.get_by_text("1 of 1 finished").first).to_be_visible(timeout=UI_TIMEOUT)
    expect(sessions.locator('table[role="grid"]')).to_contain_text("completed")
    with Store(app_server.database) as store:
        assert [i.status for i in store.items(session_id)] == [ItemStatus.DONE]
    context.close()


def test_the_eta_counts_items_while_their_lengths_are_unknown(
    page: Page, app_server: AppServer
) -> None:
    with Store(app_server.database) as store:
        session_id = make_session(store, [f"http://127.0.0.1:9/{n}.mp3" for n in range(300)])
        for item in store.items(session_id)[:5]:  # five one-minute items took five minutes
            store.start_item(item.id)
            store.update_item_info(item.id, duration=60.0)
            store.finish_item(item.id, ItemStatus.DONE)
        store.update_metrics(session_id, {"wall_seconds_total": 300.0})
        with pretend_running(store, session_id):
            bulk = BulkPage(page, app_server.url).open(session_id)
            # 295 links of unknown length at one a minute: hours, not "< 1 min".
            expect(bulk.metric("ETA")).to_contain_text("~4.9 h", timeout=UI_TIMEOUT)
            expect(bulk.metric("Items per minute")).to_contain_text("1.0")
            # Finished lengths that differ: a range, the unknown ones taken as short (30 s)
            # or as long (120 s) as those, at the audio pace (9 audio minutes in 5).
            lengths = (30, 30, 60, 120, 300)
            for item, length in zip(store.items(session_id)[:5], lengths, strict=True):
                store.update_item_info(item.id, duration=float(length))
            expect(bulk.metric("ETA")).to_contain_text("~82 min–5.5 h", timeout=UI_TIMEOUT)


def test_a_binary_file_renamed_csv_is_refused_in_plain_words(
    page: Page,
    app_server: AppServer,
    tmp_path: Path,
) -> None:
    bulk = BulkPage(page, app_server.url).open()
    image = tmp_path / "links.csv"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)
    bulk.upload(image)

    error = page.get_by_test_id("stAlert").filter(has_text="links.csv")
    expect(error).to_contain_text("is not a text, CSV or XLSX file", timeout=UI_TIMEOUT)
    expect(page.get_by_role("button", name="Start transcribing 0 items")).to_be_disabled()
    expect(page.get_by_text("First rows")).to_have_count(0)


def test_a_job_started_from_the_page_outlives_a_restart_of_the_server(
    browser, media_server: str, tmp_path: Path
) -> None:
    out = tmp_path / "output"
    # Long recordings: short clips can all be done before the page shows one running.
    links = [f"{media_server}/talk_{n:02d}.wav?run=restart" for n in range(1, 4)]
    first = AppServer(out, tmp_path / "first.log")
    try:
        first.wait_ready()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        bulk = BulkPage(context.new_page(), first.url).open()
        bulk.paste(links)
        bulk.expect_valid(3)
        session_id = bulk.start(3)
        bulk.record_until(lambda s: len(s.running_rows) == 1)
        context.close()
        with Store(first.database) as store:
            job = service.liveness(store, session_id)
        assert job is not None and job.pid != first.process.pid  # a process of its own
    finally:
        first.stop()

    second = AppServer(out, tmp_path / "second.log")
    try:
        second.wait_ready()
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        again = BulkPage(context.new_page(), second.url).open(session_id)
        finished = again.wait_finished()
        assert [row["Status"] for row in finished.snapshots[-1].rows] == ["done"] * 3
        context.close()
    finally:
        second.stop()
    with Store(second.database) as store:
        assert all(i.attempts == 1 for i in store.items(session_id))  # nothing done twice


def test_a_list_pasted_over_an_applied_one_is_what_the_box_shows_and_start_runs(
    page: Page, app_server: AppServer, media_server: str, tmp_path: Path
) -> None:
    bulk = BulkPage(page, app_server.url).open()
    box = page.get_by_label("Paste links")
    first = [f"{media_server}/talk_{n:02d}.wav?run=replace" for n in range(1, 6)]
    second = [f"{media_server}/talk_{n:02d}.wav?run=replaced" for n in (1, 2)]
    box.fill("\n".join(first))
    page.get_by_role("button", name="Use these links").click()
    bulk.expect_valid(5)
    # A new list over the applied one, then a click into another field: no rerun between.
    box.fill("\n".join(second))
    page.get_by_role("textbox", name="Language").click()
    expect(page.get_by_role("button", name="Start transcribing 2 items")).to_be_visible(
        timeout=UI_TIMEOUT
    )
    expect(box).to_have_value("\n".join(second))
    bulk.expect_valid(2)
    page.get_by_role("textbox", name="Language").click()  # another rerun: still the new list
    expect(box).to_have_value("\n".join(second))

    # A sheet chosen and its link column mapped afterwards adds to the box, losing nothing.
    sheet = tmp_path / "more.csv"
    sheet.write_text(f"title,address\nA talk,{media_server}/talk_03.wav?run=sheet\n")
    bulk.upload(sheet)
    bulk.choose("Link column", "address")
    expect(page.get_by_role("button", name="Start transcribing 3 items")).to_be_visible(
        timeout=UI_TIMEOUT
    )
    expect(box).to_have_value("\n".join(second))

    # Leaving the page and coming back keeps what was typed.
    page.get_by_role("link", name="Home").click()
    page.get_by_role("link", name="Bulk Transcribe").click()
    expect(page.get_by_label("Paste links")).to_have_value("\n".join(second), timeout=UI_TIMEOUT)


def test_a_cloud_start_is_checked_first_and_the_provider_is_set_up_on_the_page(
    page: Page, app_server: AppServer, media_server: str
) -> None:
    bulk = BulkPage(page, app_server.url).open()
    bulk.paste([f"{media_server}/talk_0{n}.wav?run=cloud" for n in (1, 2)])
    bulk.expect_valid(2)
    bulk.choose("Engine", "OpenAI-compatible API")
    key_box = page.locator("input[aria-label='OpenAI-compatible API key']")
    expect(key_box).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.get_by_text("API API key")).to_have_count(0)
    with FakeOpenAIServer(api_key=OPENAI_KEY, models=("whisper-1", "big-cloud-model")) as server:
        base = page.get_by_role("textbox", name="API base URL")
        base.fill(server.base_url)
        base.press("Enter")
        model = page.get_by_role("combobox", name="Model")
        expect(model).to_have_value("whisper-1", timeout=UI_TIMEOUT)  # no local model names

        start = page.get_by_role("button", name="Start transcribing 2 items")
        start.click()
        alert = page.get_by_test_id("stAlert")
        expect(alert).to_contain_text("No API key for OpenAI", timeout=START_TIMEOUT)
        expect(alert).to_contain_text("OpenAI-compatible API key")

        key_box.fill("sk-not-the-right-one")
        key_box.press("Enter")
        start.click()
        expect(alert).to_contain_text("OpenAI rejected the API key", timeout=START_TIMEOUT)
        expect(page.get_by_text("sk-not-the-right-one")).to_have_count(0)

        key_box.fill(OPENAI_KEY)
        key_box.press("Enter")
        expect(page.get_by_text("Models: the 2 OpenAI offers")).to_be_visible(timeout=UI_TIMEOUT)
        bulk.choose("Model", "big-cloud-model")  # the provider's own list, once the key works
        expect(model).to_have_value("big-cloud-model", timeout=UI_TIMEOUT)
        model.click()
        expect(page.get_by_role("option", name="whisper-1")).to_be_visible(timeout=UI_TIMEOUT)
        expect(page.get_by_role("option", name="tiny.en")).to_have_count(0)
        page.keyboard.press("Escape")
        assert server.transcription_requests() == []  # nothing paid for
    assert "session=" not in page.url
    with Store(app_server.database) as store:
        assert sessions_with(store, f"{media_server}/talk_01.wav?run=cloud") == []
    bulk.choose("Engine", "Local (faster-whisper, offline)")  # the next tests run locally


def test_search_pages_through_every_hit_with_honest_counts_and_plays_a_local_moment(
    page: Page, app_server: AppServer, tmp_path: Path, long_media: list[Path]
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    script = {  # 30 lines with the word in one file, one in another, none in a third
        "keeper": [(10.0 * n, 10.0 * n + 5, f"The lighthouse light {n}.") for n in range(30)],
        "harbour": [(0.0, 3.0, "Boats came in."), (75.0, 80.0, "The lighthouse keeper waved.")],
        "orchard": [(0.0, 4.0, "Apples in the orchard.")],
    }
    for name in script:
        shutil.copy(long_media[0], media / f"{name}.wav")  # 90 s: long enough to seek into
    with Store(app_server.database) as store:
        transcribe(
            store,
            app_server.out_dir,
            local_specs(sorted(media.iterdir())),
            SegmentsEngine(script),
        )

    page.goto(f"{app_server.url}/Search_Transcripts")
    query = page.get_by_role("textbox", name="Search")
    query.fill("lighthouse")
    query.press("Enter")
    # `.first`: while Streamlit redraws, the old and the new caption can both be there.
    counts = page.get_by_text(re.compile(r"^Hits \d+–\d+ of")).first
    expect(counts).to_contain_text("Hits 1–25 of 31", timeout=UI_TIMEOUT)
    expect(counts).to_contain_text("in 2 of")  # transcripts with the word, not all of them
    page.get_by_role("button", name="Next hits").click()
    expect(page.get_by_text("Hits 26–31 of 31").first).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.locator("[class*='st-key-hit-']")).to_have_count(6)

    source_filter = page.get_by_role("textbox", name="Source contains")
    source_filter.fill("harbour")
    source_filter.press("Enter")  # a new query starts at its first page
    expect(page.get_by_text("Hits 1–1 of 1,").first).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.locator('a[href^="file:"]')).to_have_count(0)
    page.get_by_role("button", name="▶ 1:15").click()
    player = page.locator("audio")
    expect(player).to_have_count(1, timeout=UI_TIMEOUT)
    source = player.get_attribute("src") or ""
    assert source.startswith(f"{app_server.url}/media/") or source.startswith("/media/"), source
    # The player is at the moment said (it seeks there itself, without a #t= address).
    page.wait_for_function("() => document.querySelector('audio').currentTime >= 75")
    served = page.request.get(source if source.startswith("http") else app_server.url + source)
    assert served.ok and served.body()[:4] == b"RIFF"  # the app serves the file itself


def test_a_finished_session_with_failures_says_so_and_offers_both_retries(
    page: Page, app_server: AppServer
) -> None:
    with Store(app_server.database) as store:
        session_id = make_session(store, [f"http://127.0.0.1:9/words-{n}.mp3" for n in range(3)])
        done, dead, offline = store.items(session_id)
        for item, status, kind in (
            (done, ItemStatus.DONE, None),
            (dead, ItemStatus.FAILED, "not_found"),  # a dead link stays dead
            (offline, ItemStatus.FAILED, "network"),  # the network may be back
        ):
            store.start_item(item.id)
            store.finish_item(item.id, status, error_kind=kind, error_message=kind)
        store.update_item_info(done.id, metadata={NO_SPEECH: True})  # as the runner marks it
        store.set_session_status(session_id, SessionStatus.COMPLETED)

    bulk = BulkPage(page, app_server.url).open(session_id)
    expect(page.get_by_text(f"Session {session_id} · finished with 2 failed")).to_be_visible(
        timeout=UI_TIMEOUT
    )
    expect(page.get_by_text("completed")).to_have_count(0)
    grid = page.locator('.st-key-panel-status-table table[role="grid"]')
    expect(grid).to_contain_text("done — no speech", timeout=UI_TIMEOUT)
    expect(bulk.button("Retry all failed (2)")).to_be_enabled()
    bulk.button("Retry retryable (1)").click()
    # The offline item runs again (and fails again: nothing listens there); the dead link not.
    with Store(app_server.database) as store:
        deadline = time.monotonic() + START_TIMEOUT / 1000
        while store.items(session_id)[2].attempts < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [item.attempts for item in store.items(session_id)] == [1, 1, 2]


def test_a_proxy_set_on_the_settings_page_carries_the_work_and_a_blocked_search_says_so(
    page: Page, app_server: AppServer, media_server: str
) -> None:
    with ForwardProxy() as proxy:
        page.goto(f"{app_server.url}/Settings")
        box = page.get_by_role("textbox", name="Proxy URL")
        box.fill(proxy.url)
        box.press("Enter")
        expect(page.get_by_text(f"In use: {proxy.url}")).to_be_visible(timeout=UI_TIMEOUT)

        page.get_by_role("link", name="Bulk Transcribe").click()
        link = f"{media_server}/talk_01.wav?run=proxy"
        BulkPage(page, app_server.url).paste([link])
        page.get_by_role("button", name="Check links first").click()
        expect(page.get_by_text("The checked link answers.")).to_be_visible(timeout=UI_TIMEOUT)
        assert link in {target for _, target in proxy.seen}  # it went through the proxy

        page.get_by_role("link", name="Find videos").click()
        page.get_by_role("textbox", name="Search YouTube").fill("solar panels")
        page.get_by_role("button", name="Search", exact=True).click()
        alert = page.get_by_test_id("stAlert")
        expect(alert).to_contain_text(
            "YouTube could not be reached through the proxy", timeout=UI_TIMEOUT
        )
        expect(alert).to_contain_text("Settings")
        for internals in ("HTTPSConnection", "--proxy", "Search failed"):
            expect(page.get_by_text(internals)).to_have_count(0)
        assert ("CONNECT", "www.youtube.com:443") in proxy.seen  # blocked, never reached

        page.get_by_role("link", name="Settings").click()  # still set when coming back
        expect(page.get_by_role("textbox", name="Proxy URL")).to_have_value(
            proxy.url, timeout=UI_TIMEOUT
        )
        page.get_by_role("textbox", name="Proxy URL").fill("")
        page.get_by_role("textbox", name="Proxy URL").press("Enter")
        expect(page.get_by_text("No proxy: the app connects directly.")).to_be_visible(
            timeout=UI_TIMEOUT
        )


def test_on_a_phone_the_running_sessions_progress_comes_first_with_the_key_columns(
    browser, app_server: AppServer
) -> None:
    with Store(app_server.database) as store:
        session_id = make_session(store, [f"http://127.0.0.1:9/phone-{n}.mp3" for n in range(4)])
        first = store.items(session_id)[0]
        store.start_item(first.id)
        store.finish_item(first.id, ItemStatus.FAILED, error_kind="network", error_message="x")
        with pretend_running(store, session_id):
            context = browser.new_context(viewport={"width": 390, "height": 844})
            bulk = BulkPage(context.new_page(), app_server.url).open(session_id)
            page = bulk.page
            progress = bulk.panel("global-progress")
            expect(progress).to_be_visible(timeout=UI_TIMEOUT)
            expect(page.locator('.st-key-panel-status-table table[role="grid"]')).to_have_count(
                1, timeout=UI_TIMEOUT
            )
            top = {
                name: locator.first.bounding_box()["y"]
                for name, locator in {
                    "status line": page.get_by_text(f"Session {session_id}"),
                    "progress": progress,
                    "live settings": page.locator(".st-key-section-live-settings"),
                    "stop": bulk.button("Stop"),
                    "title": page.get_by_role("heading", level=1),
                }.items()
            }
            bulk.screenshot("phone-running-session")
            assert top["status line"] < top["progress"] < 844, top  # on the first screen
            assert top["progress"] < min(top["live settings"], top["stop"], top["title"]), top
            headers = page.locator(
                '.st-key-panel-status-table table[role="grid"] thead th'
            ).all_inner_texts()
            assert [h.strip() for h in headers[:3]] == ["Status", "Title", "Error"], headers
            context.close()


def test_sorting_orders_the_whole_table_not_one_page(page: Page, app_server: AppServer) -> None:
    with Store(app_server.database) as store:  # queue order: 149 first, 000 last (page two)
        session_id = make_session(
            store, [f"http://127.0.0.1:9/sorted-{149 - n:03d}.mp3" for n in range(150)]
        )
    bulk = BulkPage(page, app_server.url).open(session_id)
    expect(page.locator('.st-key-panel-status-table table[role="grid"]')).to_contain_text(
        "sorted-149.mp3", timeout=UI_TIMEOUT
    )
    bulk.choose("Sort", "Title")
    grid = page.locator('.st-key-panel-status-table table[role="grid"] tbody tr')
    expect(grid.first).to_contain_text("sorted-000.mp3", timeout=UI_TIMEOUT)
    expect(page.get_by_text("Rows 1–100 of 150")).to_be_visible()


def test_on_a_laptop_every_status_filter_shows_whole_with_counts_in_thousands(
    browser, app_server: AppServer
) -> None:
    with Store(app_server.database) as store:
        session_id = make_session(
            store, [f"http://127.0.0.1:9/laptop-{n:04d}.mp3" for n in range(1200)]
        )
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    bulk = BulkPage(context.new_page(), app_server.url).open(session_id)
    panel = bulk.panel("status-table")
    pills = panel.locator('[data-testid="stButtonGroup"] button').filter(
        has_text=re.compile(r"\(\d[\d,]*\)$")
    )
    expect(pills).to_have_count(5, timeout=UI_TIMEOUT)
    expect(pills.first).to_contain_text("queued (1,200)")
    edge = panel.bounding_box()
    for pill in pills.all():
        box = pill.bounding_box()
        assert edge["x"] <= box["x"] and box["x"] + box["width"] <= edge["x"] + edge["width"], (
            pill.inner_text(),
            box,
            edge,
        )
    context.close()


# Streamlit cuts a label that does not fit its column with an ellipsis (text-overflow).
_CUT_LABELS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] *'))
    .filter(e => getComputedStyle(e).textOverflow === 'ellipsis'
        && e.scrollWidth > e.clientWidth + 1 && e.innerText.trim())
    .map(e => e.innerText.trim())"""
_CUT_LABELS_IN = """(root) => Array.from(root.querySelectorAll('*'))
    .filter(e => getComputedStyle(e).textOverflow === 'ellipsis'
        && e.scrollWidth > e.clientWidth + 1 && e.innerText.trim())
    .map(e => e.innerText.trim())"""


def test_on_a_small_laptop_every_setting_label_shows_whole_on_the_bulk_and_find_pages(
    browser, app_server: AppServer
) -> None:
    with Store(app_server.database) as store:
        session_id = make_session(store, ["https://example.org/narrow.mp3"])
    for width in (1024, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        # A session's controls: each label (the Retry counts too) whole.
        BulkPage(page, app_server.url).open(session_id)
        controls = page.locator(".st-key-panel-controls")
        expect(controls.get_by_role("button", name="Retry all failed (0)")).to_be_visible()
        assert controls.evaluate(_CUT_LABELS_IN) == [], width
        BulkPage(page, app_server.url).open()
        expect(page.get_by_text("Transcribe again if done before")).to_be_visible(
            timeout=UI_TIMEOUT
        )
        expect(page.get_by_text("Voices that overlap (meetings)")).to_be_visible()
        assert page.evaluate(_CUT_LABELS) == [], width
        page.goto(f"{app_server.url}/Find_Videos")
        expect(page.get_by_text("plan several searches")).to_be_visible(timeout=UI_TIMEOUT)
        assert page.evaluate(_CUT_LABELS) == [], ("Find videos", width)
        context.close()


def test_a_run_a_model_failure_stopped_goes_on_with_a_model_chosen_on_the_page(
    page: Page, app_server: AppServer, media_server: str, tmp_path: Path
) -> None:
    """Resume alone would load the same broken model again: the page offers another one,
    and the failed item and the rest run with it."""
    not_a_model = tmp_path / "not-a-model"  # a folder, so the start is not refused: loading fails
    not_a_model.mkdir()
    with Store(app_server.database) as store:
        session = store.create_session(
            app_server.out_dir,
            {"formats": ["txt"], "engine": "local", "model": str(not_a_model)},
        )
        store.add_items(
            session.id,
            [
                ItemSpec(f"{media_server}/{clip.name}?run=model", SourceType.HTTP_MEDIA)
                for clip in SAMPLE_MEDIA[:2]
            ],
        )
    bulk = BulkPage(page, app_server.url).open(session.id)
    bulk.button("Resume").click()
    # While the page redraws from the live view to the still one, the old warning and the
    # model choice still show beside the new ones: choose once the page is one view again.
    expect(page.get_by_text("a model every item needs could not be used")).to_have_count(
        1, timeout=START_TIMEOUT
    )

    bulk.choose("Model to go on with", model_label(DEFAULT_MODEL))
    bulk.button("Resume with this model").click()
    bulk.wait_finished()

    with Store(app_server.database) as store:
        assert [item.status for item in store.items(session.id)] == [ItemStatus.DONE] * 2
        assert store.get_session(session.id).settings["model"] == DEFAULT_MODEL  # kept for later


def test_a_session_waiting_for_another_sessions_work_says_so_instead_of_looking_stuck(
    page: Page, app_server: AppServer, media_server: str
) -> None:
    """Two teammates start the same link: the second session's job waits for the first's
    transcript. Its page showed "running", the item queued and nothing in flight."""
    link = f"{media_server}/talk_03.wav?run=waiting"
    with Store(app_server.database) as store:
        first = make_session(store, [link], status=SessionStatus.STOPPED)
        second = make_session(store, [link], status=SessionStatus.STOPPED)
        with pretend_running(store, first):  # a live job of the first session transcribes it
            store.start_item(store.items(first)[0].id)
            bulk = BulkPage(page, app_server.url).open(second)
            bulk.button("Resume").click()  # a real job, which finds the item taken
            waiting = page.locator(".st-key-panel-now-processing")
            expect(waiting).to_contain_text("Waiting for another session", timeout=START_TIMEOUT)
            expect(waiting).to_contain_text(f"transcribed by session {first}")
            expect(waiting).not_to_contain_text("Nothing in flight")
            bulk.control("Cancel")
            bulk.record_until(lambda s: "cancelled" in s.status_line)
            assert store.items(second)[0].status is ItemStatus.QUEUED  # nothing was done twice
