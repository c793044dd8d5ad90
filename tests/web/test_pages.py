"""The pages' logic, run by Streamlit's AppTest: widgets, defaults, errors, commands."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest
from openpyxl import Workbook
from pytest_httpserver import HTTPServer
from streamlit.testing.v1 import AppTest

from bulk_transcribe import service
from bulk_transcribe.models import ItemSpec, ItemStatus, SessionStatus, SourceType, Stage
from bulk_transcribe.service.providers import PRESETS
from bulk_transcribe.store import Store
from bulk_transcribe.web.launch import app_path
from bulk_transcribe.web.panels.settings_panel import (
    LOCAL_MODELS,
    PARALLEL_HELP,
    PARALLEL_LABEL,
    PREFERENCES_FILE,
    RunChoices,
    save_preferences,
)
from tests.web.conftest import make_session, pretend_running

APP = str(app_path())
BULK_PAGE = "pages/02_Bulk_Transcribe.py"
SESSIONS_PAGE = "pages/03_Sessions.py"
TIMEOUT = 30


def wait_until(condition, timeout: float = 60.0) -> None:
    """Poll a condition on the store; the run happens on the job manager's thread."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def bulk_page(session_id: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).switch_page(BULK_PAGE)
    if session_id:
        app.query_params["session"] = session_id
    return app.run()


def all_text(app: AppTest) -> str:
    parts = [e.value for e in [*app.markdown, *app.caption, *app.error, *app.warning, *app.info]]
    parts += [str(m.value) + " " + m.label for m in app.metric]
    return "\n".join(str(p) for p in parts)


def sessions_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).switch_page(SESSIONS_PAGE).run()


def start_button(app: AppTest):
    return app.button(key="start")


@pytest.mark.usefixtures("out_dir")
class TestParallelSettings:
    def test_the_parallel_toggle_is_off_by_default_with_the_plans_help_text(self) -> None:
        app = bulk_page()
        toggle = app.checkbox(key="pref_parallel")
        assert toggle.label == PARALLEL_LABEL
        assert toggle.value is False
        assert toggle.help == PARALLEL_HELP

    def test_the_concurrency_slider_spans_1_to_10_and_is_disabled_while_the_toggle_is_off(
        self,
    ) -> None:
        app = bulk_page()
        slider = app.slider(key="pref_concurrency")
        assert (slider.min, slider.max) == (1, 10)
        assert slider.disabled

        app.checkbox(key="pref_parallel").check().run()
        assert not app.slider(key="pref_concurrency").disabled

    def test_settings_are_remembered_for_the_next_visit_but_keys_are_not(
        self, out_dir: Path
    ) -> None:
        app = bulk_page()
        app.checkbox(key="pref_parallel").check().run()
        app.slider(key="pref_concurrency").set_value(5).run()
        app.selectbox(key="pref_model").set_value("tiny.en").run()
        app.selectbox(key="pref_engine").set_value(app.selectbox(key="pref_engine").options[0])
        app.run()

        later = bulk_page()  # a new browser session
        assert later.checkbox(key="pref_parallel").value is True
        assert later.slider(key="pref_concurrency").value == 5
        assert later.selectbox(key="pref_model").value == "tiny.en"
        saved = json.loads((out_dir / PREFERENCES_FILE).read_text())
        assert not any("key" in name for name in saved)

    def test_a_tab_saves_only_what_its_own_user_changed(self, out_dir: Path) -> None:
        first_tab = bulk_page()
        second_tab = bulk_page()
        second_tab.multiselect(key="pref_formats").set_value(["md", "txt"]).run()

        first_tab.run()  # redrawn without a change here (e.g. its live view's rerun)

        saved = json.loads((out_dir / PREFERENCES_FILE).read_text())
        assert saved["formats"] == ["md", "txt"]
        assert bulk_page().multiselect(key="pref_formats").value == ["md", "txt"]

    def test_formats_the_user_cleared_stay_cleared_and_start_says_why(self) -> None:
        app = bulk_page()
        app.text_area[0].set_value("https://example.org/a.mp3").run()
        app.multiselect(key="pref_formats").set_value([]).run()
        app.run()  # a redraw nobody asked for leaves the user's choice alone

        assert app.multiselect(key="pref_formats").value == []
        assert start_button(app).disabled
        assert "Choose at least one output format." in all_text(app)

    def test_the_browser_draws_the_remembered_formats_from_the_start(self) -> None:
        """The formats are the widget's default, not a value set over an empty list: a rerun
        under load that the browser sent before it took a set value carried back an empty
        list, and Start stayed disabled."""
        bulk_page().multiselect(key="pref_formats").set_value(["md", "srt"]).run()

        later = bulk_page()  # a new browser session
        formats = later.multiselect(key="pref_formats")
        assert formats.value == ["md", "srt"]
        assert [formats.options[i] for i in formats.proto.default] == ["md", "srt"]

    def test_the_browser_draws_every_remembered_choice_from_the_start(self, out_dir: Path) -> None:
        """Every remembered setting is its widget's default, none is seeded into session
        state: seeded, the browser first drew the widget's own default (parallel off, one
        at a time, no language) and a rerun it sent under load could carry that back."""
        remembered = RunChoices(
            language="de",
            captions=False,
            rpm=30,
            parallel=True,
            concurrency=5,
            force=True,
            speakers="3",
            speaker_encoder="resemblyzer",
            executor="ray",
            ray_address="head:6379",
            hints="Nguyen, Sweynheim",
        )
        save_preferences(out_dir, remembered)

        app = bulk_page()  # a new browser session

        assert app.text_input(key="pref_language").proto.default == "de"
        assert app.checkbox(key="pref_captions").proto.default is False
        assert app.number_input(key="pref_rpm").proto.default == 30
        assert app.checkbox(key="pref_parallel").proto.default is True
        assert list(app.slider(key="pref_concurrency").proto.default) == [5]
        assert app.checkbox(key="pref_force").proto.default is True
        speakers = app.selectbox(key="pref_speakers")
        assert speakers.options[speakers.proto.default] == "3"
        encoder = app.selectbox(key="pref_speaker_encoder")
        assert encoder.options[encoder.proto.default] == "Resemblyzer"
        executor = app.selectbox(key="pref_executor")
        assert executor.options[executor.proto.default] == "Ray cluster"
        assert app.text_input(key="pref_ray_address").proto.default == "head:6379"
        assert app.text_input(key="pref_hints").proto.default == "Nguyen, Sweynheim"
        assert not app.warning and not app.exception  # no value set beside a default

    def test_the_voice_encoder_is_chosen_beside_the_speaker_labels_and_remembered(
        self, out_dir: Path
    ) -> None:
        app = bulk_page()
        encoder = app.selectbox(key="pref_speaker_encoder")
        assert encoder.value == "auto" and encoder.disabled  # speaker labels are off

        app.selectbox(key="pref_speakers").set_value("2").run()
        assert not app.selectbox(key="pref_speaker_encoder").disabled
        app.selectbox(key="pref_speaker_encoder").set_value("resemblyzer").run()

        saved = json.loads((out_dir / PREFERENCES_FILE).read_text())
        assert (saved["speakers"], saved["speaker_encoder"]) == ("2", "resemblyzer")
        assert bulk_page().selectbox(key="pref_speaker_encoder").value == "resemblyzer"

    def test_overlapping_voices_is_offered_with_speaker_labels_and_cam_plus_plus_and_kept(
        self, store: Store, out_dir: Path
    ) -> None:
        app = bulk_page()
        assert app.checkbox(key="pref_speaker_overlap").disabled  # speaker labels are off
        app.selectbox(key="pref_speakers").set_value("auto").run()
        app.checkbox(key="pref_speaker_overlap").check().run()
        app.selectbox(key="pref_speaker_encoder").set_value("resemblyzer").run()
        assert app.checkbox(key="pref_speaker_overlap").disabled  # CAM++ only
        app.selectbox(key="pref_speaker_encoder").set_value("auto").run()
        assert not app.checkbox(key="pref_speaker_overlap").disabled
        assert json.loads((out_dir / PREFERENCES_FILE).read_text())["speaker_overlap"] is True

        app.text_area[0].set_value("https://example.org/a.mp3").run()
        start_button(app).click().run(timeout=120)

        (session,) = store.list_sessions()
        assert service.resume_settings(store, session).speaker_overlap is True

    def test_an_encoder_not_installed_here_stops_the_start_and_says_what_to_install(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "senko", None)  # as where senko has no wheel
        app = bulk_page()
        app.text_area[0].set_value("https://example.org/a.mp3").run()
        app.selectbox(key="pref_speakers").set_value("auto").run()
        app.selectbox(key="pref_speaker_encoder").set_value("campplus").run()

        start_button(app).click().run()

        shown = " ".join(e.value for e in app.error)
        assert "could not start" in shown and "pip install 'bulk-transcribe[speakers]'" in shown
        assert store.list_sessions() == []

    def test_a_switch_to_a_cloud_engine_and_back_keeps_every_choice_and_warns_of_nothing(
        self,
    ) -> None:
        app = bulk_page()
        app.selectbox(key="pref_speakers").set_value("auto").run()
        app.selectbox(key="pref_engine").set_value("openai").run()
        assert app.selectbox(key="pref_provider").value == "openai"
        assert app.selectbox(key="pref_cloud_model").value not in LOCAL_MODELS

        app.selectbox(key="pref_engine").set_value("local").run()

        assert app.selectbox(key="pref_model").value not in {p.model for p in PRESETS.values()}
        assert app.selectbox(key="pref_speakers").value == "auto"
        assert not app.warning and not app.exception


@pytest.mark.usefixtures("out_dir")
class TestInput:
    def test_pasted_links_are_counted_with_duplicates_and_invalid_rows_and_reasons(
        self,
    ) -> None:
        app = bulk_page()
        assert start_button(app).disabled
        app.text_area[0].set_value(
            "https://example.org/a.mp3\n"
            "https://example.org/a.mp3\n"
            "ftp://example.org/b.mp3\n"
            "https://www.youtube.com/playlist?list=PL0123456789\n"
        ).run()

        metrics = {m.label: m.value for m in app.metric}
        assert metrics == {"Valid": "2", "Duplicates merged": "1", "Invalid": "1"}
        invalid = app.dataframe[-1].value
        assert list(invalid["Where"]) == ["pasted.txt line 3"]
        assert "unsupported URL scheme 'ftp'" in invalid["Reason"][0]
        assert "playlist" in all_text(app) and "expanded" in all_text(app)
        assert not start_button(app).disabled
        assert "2 items" in start_button(app).label

    def test_a_sheet_shows_a_preview_and_a_column_can_be_mapped_by_hand(self) -> None:
        app = bulk_page()
        sheet = "Episode,Where to get it\nOne,https://example.org/1.mp3\nTwo,https://example.org/2.mp3\n"
        app.file_uploader[0].set_value(("episodes.csv", sheet.encode(), "text/csv")).run()

        # No header names the links: the column holding them is found by its cells.
        assert "read the links in 'Where to get it'" in all_text(app)
        preview = app.dataframe[0].value
        assert list(preview.columns) == ["Episode", "Where to get it"]
        assert len(preview) == 2

        app.selectbox(key="map_url").set_value("Where to get it").run()
        assert {m.label: m.value for m in app.metric}["Valid"] == "2"
        assert not app.error
        assert "2 items" in start_button(app).label

    def test_a_sheet_whose_titles_link_to_the_media_names_them_as_the_titles(self) -> None:
        """No column is named for links, but each title links to its media: the mapping
        shows where the links and titles come from, not "(none found)"."""
        workbook = Workbook()
        workbook.active.append(["Episode", "Aired"])
        for n in (1, 2):
            workbook.active.append([f"Episode {n}", f"2024-0{n}-01"])
            workbook.active.cell(row=n + 1, column=1).hyperlink = f"https://example.org/{n}.mp3"
        buffer = io.BytesIO()
        workbook.save(buffer)
        app = bulk_page()
        app.file_uploader[0].set_value(("exported.xlsx", buffer.getvalue(), "")).run()

        shown = {
            key: app.selectbox(key=key).format_func(app.selectbox(key=key).value)
            for key in ("map_url", "map_title")
        }
        assert shown == {
            "map_url": "the links in Episode (found automatically)",
            "map_title": "Episode (found automatically)",
        }
        assert list(app.dataframe[0].value["Episode"]) == ["Episode 1", "Episode 2"]
        assert {m.label: m.value for m in app.metric}["Valid"] == "2"
        assert not app.error and "2 items" in start_button(app).label

    def test_a_damaged_workbook_shows_an_error_a_user_can_act_on(self, tmp_path: Path) -> None:
        app = bulk_page()
        app.file_uploader[0].set_value(
            ("links.xlsx", b"PK\x03\x04 not really a workbook", "application/octet-stream")
        ).run()

        assert app.error, "a bad upload must say so"
        message = app.error[0].value
        # A zip's start without its end: what a download or copy cut short leaves.
        assert "links.xlsx is incomplete" in message and "download or copy it again" in message
        assert start_button(app).disabled

    def test_a_workbook_with_several_sheets_offers_a_choice(self, tmp_path: Path) -> None:
        workbook = Workbook()
        workbook.active.title = "Notes"
        workbook.active.append(["nothing here"])
        workbook.active.append(["really"])
        episodes = workbook.create_sheet("Episodes")
        episodes.append(["Title", "URL"])
        episodes.append(["One", "https://example.org/1.mp3"])
        path = tmp_path / "book.xlsx"
        workbook.save(path)

        app = bulk_page()
        app.file_uploader[0].set_value(("book.xlsx", path.read_bytes(), "application/xlsx"))
        app.run()
        app.selectbox(key="input_worksheet").set_value("Episodes").run()

        assert {m.label: m.value for m in app.metric}["Valid"] == "1"


class TestMonitor:
    def test_turning_parallel_off_during_a_run_asks_the_session_for_one_item_at_a_time(
        self, store: Store
    ) -> None:
        session_id = make_session(store, ["https://example.org/1.mp3"], concurrency=3)
        with pretend_running(store, session_id):
            app = bulk_page(session_id)
            app.checkbox(key="pref_parallel").check().run()
            assert store.requested_concurrency(session_id) == 3

            app.checkbox(key="pref_parallel").uncheck().run()

            assert store.requested_concurrency(session_id) == 1
            last = store.events(session_id)[-1]
            assert last.kind == "concurrency" and "turned off" in last.message
            assert "Sequential processing now" in all_text(app)

    def test_stop_and_cancel_go_through_the_store(self, store: Store) -> None:
        session_id = make_session(store, ["https://example.org/1.mp3"])
        with pretend_running(store, session_id):
            app = bulk_page(session_id)
            assert "Live settings" in all_text(app)  # the input is folded away, these stay
            app.button(key="control-stop").click().run()
            assert store.read_command(session_id) == "stop"
            assert app.button(key="control-stop").disabled  # asked once is enough

            app.button(key="control-cancel").click().run()
            assert store.read_command(session_id) == "cancel"

    def test_five_thousand_items_make_one_paged_table_running_first_and_searchable(
        self, store: Store
    ) -> None:
        sources = [f"https://example.org/{n}.mp3" for n in range(5000)]
        session_id = make_session(store, sources, concurrency=3, status=SessionStatus.RUNNING)
        running = store.items(session_id)[-3:]  # the last three of the queue
        for item in running:
            store.start_item(item.id)
            store.set_stage(item.id, Stage.TRANSCRIBING, 0.5)

        with pretend_running(store, session_id):  # a job works on it: its items run
            app = bulk_page(session_id).run()  # a live page draws its table from the next run

            table = next(df.value for df in app.dataframe if "Stage" in df.value.columns)
            assert len(table) == 100  # one page, not 5,000 rows on every refresh
            assert table.index.is_unique
            assert list(table["Status"])[:4] == ["running", "running", "running", "queued"]
            assert table["Source"].iloc[0] == "https://example.org/4997.mp3"
            assert len(app.button) < 20
            assert "Now processing (3)" in all_text(app)

            app.text_input(key="status_search").set_value("/1234.mp3").run()
            table = next(df.value for df in app.dataframe if "Stage" in df.value.columns)
            assert list(table["Source"]) == ["https://example.org/1234.mp3"]

    def test_items_a_killed_run_left_in_flight_read_interrupted_not_running(
        self, store: Store
    ) -> None:
        """The store state kill -9 leaves: the session and an item still say "running", no
        process owns them. The page reads them as the session's badge does."""
        sources = [f"https://example.org/{n}.mp3" for n in range(3)]
        session_id = make_session(store, sources, status=SessionStatus.RUNNING)
        in_flight = store.items(session_id)[1]
        store.start_item(in_flight.id)
        store.set_stage(in_flight.id, Stage.TRANSCRIBING, 0.3)

        app = bulk_page(session_id)

        table = next(df.value for df in app.dataframe if "Stage" in df.value.columns)
        assert table.loc[in_flight.id, "Status"] == "interrupted — runs again on resume"
        assert "running" not in set(table["Status"])
        pills = app.button_group(key="status_filter").options
        assert any("interrupted (1)" in str(pill) for pill in pills), pills
        assert not any("running" in str(pill) for pill in pills), pills
        assert "Now processing (0)" in all_text(app) and "Nothing in flight" in all_text(app)
        assert "one item at a time, 0 running" in all_text(app)
        assert store.get_item(in_flight.id).status is ItemStatus.RUNNING  # the store is kept
        store.finish_item(in_flight.id, ItemStatus.DONE)  # nothing left in flight
        pills = bulk_page(session_id).button_group(key="status_filter").options
        assert any("running (0)" in str(pill) for pill in pills), pills

    def test_a_run_stopped_by_a_model_failure_says_resume_keeps_the_model(
        self, store: Store
    ) -> None:
        sources = [f"https://example.org/{n}.mp3" for n in range(3)]
        session_id = make_session(store, sources, status=SessionStatus.STOPPED)
        first = store.items(session_id)[0]
        store.start_item(first.id)
        store.finish_item(
            first.id, ItemStatus.FAILED, error_kind="model", error_message="no model in /nowhere"
        )

        text = all_text(bulk_page(session_id))

        assert "a model every item needs could not be used" in text
        assert "Resume uses this session's settings again" in text

        app = bulk_page(session_id)
        assert app.button(key="control-resume-with-model").label == "Resume with this model"

        store.requeue_failed(session_id)  # e.g. retried after fixing the model files
        assert "a model every item needs" not in all_text(bulk_page(session_id))

    @pytest.mark.parametrize(
        ("failed", "offered"),
        [
            ("--device cuda: the GPU cannot be used (CUDA driver)", "Resume on the CPU"),
            ("--speakers: install 'bulk-transcribe[speakers]'", "Resume without speaker labels"),
        ],
    )
    def test_a_stop_for_another_part_than_the_model_offers_to_go_on_without_it(
        self, store: Store, failed: str, offered: str
    ) -> None:
        session_id = make_session(store, ["https://example.org/a.mp3", "https://example.org/b.mp3"])
        first = store.items(session_id)[0]
        store.start_item(first.id)
        store.finish_item(first.id, ItemStatus.FAILED, error_kind="model", error_message=failed)
        store.set_session_status(session_id, SessionStatus.STOPPED)

        app = bulk_page(session_id)

        assert app.button(key="control-resume-with-change").label == offered
        assert not [b for b in app.button if b.key == "control-resume-with-model"]

    def test_the_status_filter_shows_only_the_chosen_statuses(self, store: Store) -> None:
        session_id = make_session(
            store, [f"https://example.org/{n}.mp3" for n in range(4)], status=SessionStatus.STOPPED
        )
        first = store.items(session_id)[0]
        store.start_item(first.id)
        store.finish_item(first.id, ItemStatus.FAILED, error_kind="http", error_message="404")

        app = bulk_page(session_id)
        app.button_group(key="status_filter").set_value([ItemStatus.FAILED]).run()

        table = next(df.value for df in app.dataframe if "Stage" in df.value.columns)
        assert list(table["Status"]) == ["failed"]
        assert "Errors (1)" in all_text(app)

    def test_a_list_with_no_links_says_so_instead_of_asking_for_one(self, out_dir: Path) -> None:
        app = bulk_page()
        app.text_area(key="input_pasted_box").set_value("# links to come\n\n").run()

        text = all_text(app)
        assert "Nothing to transcribe in the pasted text" in text
        assert "to begin" not in text  # as if nothing had been given
        assert start_button(app).disabled

    def test_an_output_folder_typed_with_a_tilde_is_in_the_home_folder(
        self, out_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        app = bulk_page()
        app.sidebar.text_input[0].set_value("~/transcripts").run()

        wanted = tmp_path / "home" / "transcripts" / "bulk_transcribe.db"
        assert str(wanted) in "\n".join(c.value for c in app.sidebar.caption)
        assert not (Path.cwd() / "~").exists()

    def test_an_unknown_session_is_reported_not_crashed_on(self, out_dir: Path) -> None:
        app = bulk_page("20990101T000000Z-ffffff")
        assert not app.exception
        assert "No session 20990101T000000Z-ffffff" in all_text(app)


class TestSessionsPage:
    def test_a_session_a_model_failure_stopped_says_resume_would_load_it_again(
        self, store: Store
    ) -> None:
        session_id = make_session(store, ["https://example.org/1.mp3", "https://example.org/2.mp3"])
        first = store.items(session_id)[0]
        store.start_item(first.id)
        store.finish_item(first.id, ItemStatus.FAILED, error_kind="model", error_message="gone")
        store.set_session_status(session_id, SessionStatus.STOPPED)

        assert "Resume would load it again" in all_text(sessions_page())

    def test_a_delete_confirmed_for_one_session_is_not_armed_for_the_next_one_chosen(
        self, store: Store
    ) -> None:
        first = make_session(store, ["https://example.org/1.mp3"], status=SessionStatus.STOPPED)
        second = make_session(store, ["https://example.org/2.mp3"], status=SessionStatus.STOPPED)
        app = sessions_page()
        app.selectbox[0].set_value(first).run()
        confirm = next(box for box in app.checkbox if box.label.startswith("Yes, delete it"))
        confirm.check().run()
        assert not app.button(key="delete").disabled

        app.selectbox[0].set_value(second).run()  # changed their mind: look at another

        assert app.button(key="delete").disabled
        assert {s.id for s in store.list_sessions()} == {first, second}

    def test_sessions_are_listed_and_one_can_be_deleted(self, store: Store) -> None:
        keep = make_session(store, ["https://example.org/1.mp3"], status=SessionStatus.COMPLETED)
        drop = make_session(store, ["https://example.org/2.mp3"], status=SessionStatus.STOPPED)
        app = sessions_page()

        listed = app.dataframe[0].value
        assert set(listed["Session"]) == {keep, drop}
        app.selectbox[0].set_value(drop).run()
        assert app.button(key="delete").disabled  # not before confirming
        app.checkbox(key=f"delete-confirm-{drop}").check().run()
        app.button(key="delete").click().run()

        assert [s.id for s in store.list_sessions()] == [keep]

    def test_retry_failed_re_queues_only_the_failed_items_and_runs_them(
        self, store: Store, httpserver: HTTPServer
    ) -> None:
        httpserver.expect_request("/gone.mp3").respond_with_data("gone", status=404)
        session_id = make_session(
            store, [httpserver.url_for("/gone.mp3"), httpserver.url_for("/fine.mp3")]
        )
        failed, done = store.items(session_id)
        store.start_item(failed.id)
        store.finish_item(failed.id, ItemStatus.FAILED, error_kind="http", error_message="x")
        store.start_item(done.id)
        store.finish_item(done.id, ItemStatus.DONE)
        store.set_session_status(session_id, SessionStatus.COMPLETED)
        app = sessions_page()
        assert app.button(key="resume").disabled  # nothing left to resume
        # The choice reads as the table does, not "completed".
        assert (
            app.selectbox(key="sessions_choice")
            .format_func(session_id)
            .endswith("· finished with 1 failed")
        )

        app.button(key="retry").click().run(timeout=120)  # the job starts in its own process

        wait_until(
            lambda: (
                store.get_item(failed.id).attempts == 2
                and store.get_session(session_id).status is SessionStatus.COMPLETED
            )
        )
        retried = store.get_item(failed.id)
        assert retried.status is ItemStatus.FAILED
        assert "HTTP 404" in (retried.error_message or "")
        assert store.get_item(done.id).attempts == 1  # the done item was left alone
        assert "1 failed item re-queued" in [e.message for e in store.events(session_id)]

    def test_a_cloud_session_without_a_key_is_not_resumed_and_says_where_the_key_goes(
        self, store: Store, monkeypatch
    ) -> None:
        for variable in ("OPENAI_API_KEY", "BULK_TRANSCRIBE_OPENAI_API_KEY"):
            monkeypatch.delenv(variable, raising=False)
        session = store.create_session(
            store.path.parent, {"engine": "openai", "provider": "openai", "formats": ["txt"]}
        )
        store.add_items(session.id, [ItemSpec("https://example.org/1.mp3", SourceType.HTTP_MEDIA)])
        store.set_session_status(session.id, SessionStatus.STOPPED)
        app = sessions_page()
        app.button(key="resume").click().run()

        assert any("No API key for OpenAI" in toast.value for toast in app.toast)
        assert service.liveness(store, session.id) is None  # no job, nothing paid for
        assert store.items(session.id)[0].attempts == 0


def test_the_home_page_lists_recent_sessions(store: Store) -> None:
    session_id = make_session(store, ["https://example.org/1.mp3"])
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert session_id in set(app.dataframe[0].value["Session"])


def test_a_setting_that_does_not_validate_is_named_on_the_page_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    misplaced_key = "sk-live-misplaced-0123456789"  # a key put in the wrong variable
    monkeypatch.setenv("BULK_TRANSCRIBE_CONCURRENCY", misplaced_key)
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    shown = all_text(app)
    assert "is not valid: concurrency:" in shown
    assert misplaced_key not in shown
