"""A web app shared beyond this computer: `bulk-transcribe ui --host 0.0.0.0` with a team
password, in real Chromium. Until the password is given, every page shows a sign-in form and
nothing else; without a password the command does not start at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from playwright.sync_api import Page, expect

from bulk_transcribe.ingest.classify import NO_SERVER_FILES
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.cloud_setup import SERVER_KEYS_STAY_HOME
from bulk_transcribe.web.panels.sign_in import PASSWORD_LABEL, SIGN_IN_LABEL, WRONG_PASSWORD
from tests.engines.conftest import OPENAI_KEY
from tests.fakes.base import Reply, Request
from tests.fakes.openai_server import FakeOpenAIServer
from tests.web.browser import BulkPage
from tests.web.conftest import SERVER_START_TIMEOUT, free_port

PASSWORD = "lab-queue correct horse"
SERVER_KEY = "sk-the-team-s-own-key"  # in the environment of the server
UI_TIMEOUT = 30_000
UI_COMMAND = (sys.executable, "-m", "bulk_transcribe.cli", "ui", "--host", "0.0.0.0")
PAGES = ("", "Bulk_Transcribe", "Sessions", "Find_Videos", "Search_Transcripts")


def _cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_")}


@dataclass
class SharedApp:
    url: str
    session_id: str  # a session stored before anyone signed in
    process: subprocess.Popen
    out_dir: Path


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedApp]:
    folder = tmp_path_factory.mktemp("shared-app")
    out = folder / "output"
    out.mkdir()
    with Store(out / "bulk_transcribe.db") as store:
        session = store.create_session(out, {"formats": ["txt"], "engine": "local"})
        store.add_items(session.id, [ItemSpec("https://example.org/a.mp3", SourceType.HTTP_MEDIA)])
    port = free_port()
    log = (folder / "ui.log").open("wb")
    process = subprocess.Popen(
        [*UI_COMMAND, "--port", str(port), "--out", str(out)],
        cwd=folder,
        env={**_cli_env(), "BULK_TRANSCRIBE_UI_PASSWORD": PASSWORD, "OPENAI_API_KEY": SERVER_KEY},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"the app did not start:\n{(folder / 'ui.log').read_text()}")
        yield SharedApp(url, session.id, process, out)
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def expect_only_the_sign_in_form(page: Page, app: SharedApp) -> None:
    expect(page.get_by_label(PASSWORD_LABEL)).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.get_by_role("button", name=SIGN_IN_LABEL)).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)
    html = page.content()  # hidden parts too (a grid keeps its cells in hidden markup)
    assert app.session_id not in html
    for hidden in ("Output folder", "Start a batch", "Recent sessions", "Paste links"):
        assert hidden not in html


def sign_in(page: Page, password: str) -> None:
    box = page.get_by_label(PASSWORD_LABEL)
    box.fill(password)
    page.get_by_role("button", name=SIGN_IN_LABEL).click()


def test_every_page_shows_only_a_sign_in_form_until_the_password_is_given(
    shared_app: SharedApp, browser
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        for name in PAGES:
            page.goto(f"{shared_app.url}/{name}")
            expect_only_the_sign_in_form(page, shared_app)
    finally:
        context.close()


def test_a_wrong_password_keeps_the_form_and_the_right_one_opens_the_app_for_the_day(
    shared_app: SharedApp, browser
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(shared_app.url)
        sign_in(page, "not the password")
        expect(page.get_by_text(WRONG_PASSWORD)).to_be_visible(timeout=UI_TIMEOUT)
        expect_only_the_sign_in_form(page, shared_app)

        sign_in(page, PASSWORD)
        expect(page.get_by_text("Recent sessions")).to_be_visible(timeout=UI_TIMEOUT)
        expect(page.get_by_text(shared_app.session_id).first).to_be_attached()
        expect(page.get_by_test_id("stSidebar")).to_be_visible()

        # The browser stays signed in: a new tab of it opens the app at once.
        cookie = next(c for c in context.cookies() if c["name"] == "bulk_transcribe_sign_in")
        assert cookie["expires"] > time.time() + 8 * 3600  # lasts a working day
        assert PASSWORD not in cookie["value"]
        second = context.new_page()
        second.goto(f"{shared_app.url}/Sessions")
        expect(second.get_by_text(shared_app.session_id).first).to_be_attached(timeout=UI_TIMEOUT)
        expect(second.get_by_label(PASSWORD_LABEL)).to_have_count(0)
    finally:
        context.close()

    # Another browser, without that cookie, still meets the form; a forged cookie is no key.
    stranger = browser.new_context()
    stranger.add_cookies(
        [{"name": "bulk_transcribe_sign_in", "value": "eyJub25jZSI6IjEifQ.forged.sig",
          "url": shared_app.url}]
    )  # fmt: skip
    try:
        page = stranger.new_page()
        page.goto(shared_app.url)
        expect_only_the_sign_in_form(page, shared_app)
    finally:
        stranger.close()


def test_signed_in_a_teammate_gives_links_never_paths_on_the_server(
    shared_app: SharedApp, browser, sample_media: list[Path]
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{shared_app.url}/Bulk_Transcribe")
        sign_in(page, PASSWORD)
        BulkPage(page, shared_app.url).paste([str(sample_media[0]), "/etc/passwd"])
        page.get_by_role("button", name="Use these links").click()
        expect(BulkPage(page, shared_app.url).metric("Invalid")).to_contain_text(
            "2", timeout=UI_TIMEOUT
        )
        expect(page.get_by_text(NO_SERVER_FILES)).to_have_count(2)
        expect(page.get_by_label("Output folder")).to_have_count(0)  # the operator's choice

        # Media come as uploads instead: kept in the output folder, an item like any other.
        page.locator(".st-key-media-upload input[type=file]").set_input_files(str(sample_media[0]))
        expect(BulkPage(page, shared_app.url).metric("Valid")).to_contain_text(
            "1", timeout=UI_TIMEOUT
        )
        expect(page.get_by_text("local files")).to_be_visible()
        kept = [p.name for p in (shared_app.out_dir / "uploads").rglob("*") if p.is_file()]
        assert kept == [sample_media[0].name]
    finally:
        context.close()


class KeyRecordingServer(FakeOpenAIServer):
    """An OpenAI-compatible server that notes every key it was sent."""

    def __init__(self, **knobs):
        super().__init__(**knobs)
        self.keys_sent: list[str | None] = []

    def route(self, request: Request) -> Reply:
        self.keys_sent.append(request.bearer)
        return super().route(request)


def test_an_api_address_a_teammate_typed_gets_no_server_key_and_no_inside_address(
    shared_app: SharedApp, browser
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{shared_app.url}/Bulk_Transcribe")
        sign_in(page, PASSWORD)
        bulk = BulkPage(page, shared_app.url)
        bulk.paste(["https://example.org/talk.mp3"])
        page.get_by_role("button", name="Use these links").click()
        bulk.expect_valid(1)
        bulk.choose("Engine", "OpenAI-compatible API")
        with KeyRecordingServer(api_key=OPENAI_KEY) as server:
            base = page.get_by_role("textbox", name="API base URL")
            base.fill(server.base_url)
            base.press("Enter")
            expect(page.get_by_text(SERVER_KEYS_STAY_HOME)).to_be_visible(timeout=UI_TIMEOUT)
            page.get_by_role("button", name="Start transcribing 1 item").click()
            expect(page.get_by_test_id("stAlert")).to_contain_text(
                "No API key for OpenAI", timeout=UI_TIMEOUT
            )

            key_box = page.locator("input[aria-label='OpenAI-compatible API key']")
            key_box.fill(OPENAI_KEY)
            key_box.press("Enter")
            page.get_by_role("button", name="Start transcribing 1 item").click()
            expect(page.get_by_test_id("stAlert")).to_contain_text(
                "127.0.0.1 is this machine", timeout=UI_TIMEOUT
            )
            # An address a teammate typed is reached only where links may go: not this
            # machine (nor its networks), where this one is.
            assert server.keys_sent == []
            # The server's .env is its operator's: a typed key stays in this browser.
            expect(page.get_by_role("button", name="Save key in .env")).to_have_count(0)
    finally:
        context.close()


def test_signed_in_a_teammate_names_no_file_proxy_or_cluster_of_the_server(
    shared_app: SharedApp, browser
) -> None:
    """A cookies path would tell which files the server has and feed any of them to yt-dlp;
    Save in .env would change the server's configuration for everyone; a proxy or a Ray
    address would be connected to unguarded."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{shared_app.url}/Settings")
        sign_in(page, PASSWORD)
        expect(page.get_by_text("YouTube cookies")).to_be_visible(timeout=UI_TIMEOUT)
        expect(page.get_by_text("reads no files of its server by name")).to_be_visible()
        expect(page.get_by_role("textbox", name="Cookies file (cookies.txt)")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile("Save .* in .env"))).to_have_count(0)
        # Nor does it connect to a proxy or a Ray cluster a visitor names (a cluster gets the
        # job's settings, keys and all): both are the operator's.
        expect(page.get_by_text("Whoever runs this shared app sets it")).to_be_visible()
        expect(page.get_by_role("textbox", name="Proxy URL")).to_have_count(0)
        page.goto(f"{shared_app.url}/Bulk_Transcribe")
        bulk = BulkPage(page, shared_app.url)
        bulk.choose("Run on", "Ray cluster")
        expect(page.get_by_role("textbox", name="Ray cluster address")).to_be_disabled(
            timeout=UI_TIMEOUT
        )
    finally:
        context.close()


def test_the_password_never_reaches_the_app_s_command_line_or_environment(
    shared_app: SharedApp,
) -> None:
    servers = psutil.Process(shared_app.process.pid).children(recursive=True)
    assert servers, "the Streamlit server was not found"
    for server in servers:
        assert PASSWORD not in " ".join(server.cmdline())
        environment = server.environ()
        assert PASSWORD not in environment.values()
        assert "BULK_TRANSCRIBE_UI_PASSWORD" not in environment
        assert environment["BULK_TRANSCRIBE_UI_PASSWORD_HASH"].startswith("scrypt$")


def test_served_beyond_this_computer_without_a_password_the_command_refuses_to_start(
    tmp_path: Path,
) -> None:
    finished = subprocess.run(
        [*UI_COMMAND, "--port", str(free_port())],
        cwd=tmp_path,
        env=_cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0
    said = " ".join((finished.stdout + finished.stderr).split())
    assert "BULK_TRANSCRIBE_UI_PASSWORD" in said
    assert "--password-file" in said
