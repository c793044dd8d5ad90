"""`bulk-transcribe ui` starts the installed web app on 127.0.0.1, as a user runs it: in the
user's own folder, with the user's own .env, and no checkout needed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.errors import PermanentError
from bulk_transcribe.settings import Settings
from bulk_transcribe.web.launch import app_environment, app_path, streamlit_command, ui_password
from tests.samples import REPO
from tests.web.conftest import free_port

CLI = Path(sys.executable).with_name("bulk-transcribe")


def test_the_command_binds_to_this_computer_by_default() -> None:
    command = streamlit_command(app_path())
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert app_path().name == "app.py"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bulk-transcribe built as a wheel and installed into a folder of its own (its
    dependencies come from this environment): what `pip install` gives a user, no checkout."""
    folder = tmp_path_factory.mktemp("installed")
    wheels = folder / "wheels"
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(REPO)], check=True)
    (wheel,) = wheels.glob("bulk_transcribe-*.whl")
    target = folder / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return target


def test_bulk_transcribe_ui_runs_the_installed_app_with_the_env_file_of_its_folder(
    installed: Path, tmp_path: Path, browser
) -> None:
    port = free_port()
    (tmp_path / ".env").write_text("BULK_TRANSCRIBE_OUT_DIR=from-dotenv\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_")}
    env["PYTHONPATH"] = str(installed)  # ahead of the checkout's editable install
    where = subprocess.run(
        [sys.executable, "-c", "import bulk_transcribe.web.launch as l; print(l.app_path())"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed))  # the installed copy, not the checkout
    process = subprocess.Popen(
        [sys.executable, "-m", "bulk_transcribe.cli", "ui", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and process.poll() is None and not healthy:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                healthy = health.status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert healthy, "the app never answered on 127.0.0.1"
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        expect(page.get_by_role("heading", name="Bulk Transcribe")).to_be_visible(timeout=30_000)
        database = tmp_path / "from-dotenv" / "bulk_transcribe.db"
        expect(page.get_by_text(str(database))).to_be_visible()
        page.get_by_role("link", name="Sessions", exact=True).click()
        expect(page.get_by_text("No sessions yet")).to_be_visible(timeout=30_000)
        context.close()
    finally:
        process.terminate()  # as a service manager stops it
        process.wait(15)
    # The Streamlit server went with the command: nothing answers on its port any more.
    with pytest.raises(httpx.TransportError):
        for _ in range(50):
            httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            time.sleep(0.2)


@pytest.mark.parametrize(
    ("host", "public"), [("127.0.0.1", False), ("localhost", False), ("0.0.0.0", True)]
)
def test_an_app_served_beyond_this_machine_refuses_links_to_it_and_its_networks(
    host: str, public: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY", raising=False)
    env = app_environment(host)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BULK_TRANSCRIBE_ALLOW_PRIVATE_ADDRESSES", "1")  # the user's own choice
    policy = AddressPolicy.from_settings(Settings())
    assert policy == (
        AddressPolicy(allow_loopback=False, allow_private=False)
        if public
        else AddressPolicy(allow_loopback=True, allow_private=True)
    )


def test_the_password_file_gives_its_first_line_and_an_empty_one_is_refused(
    tmp_path: Path,
) -> None:
    from bulk_transcribe.errors import PermanentError
    from bulk_transcribe.web.launch import ui_password

    given = tmp_path / "password"
    given.write_text("s3cret phrase\n")
    assert ui_password(given) == "s3cret phrase"
    given.write_text("\n")
    with pytest.raises(PermanentError, match="empty"):
        ui_password(given)


def test_with_a_password_the_app_gets_only_its_hash_and_refuses_links_to_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bulk_transcribe.web.access import password_matches

    monkeypatch.setenv("BULK_TRANSCRIBE_UI_PASSWORD", "s3cret phrase")
    env = app_environment("127.0.0.1", password="s3cret phrase")  # behind a reverse proxy
    assert "s3cret phrase" not in env.values()
    assert password_matches(env["BULK_TRANSCRIBE_UI_PASSWORD_HASH"], "s3cret phrase")
    assert env["BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY"] == "1"


def test_a_shared_app_shows_visitors_plain_messages_never_tracebacks() -> None:
    def details(command: list[str]) -> str:
        return command[command.index("--client.showErrorDetails") + 1]

    assert details(streamlit_command(app_path(), "0.0.0.0", shared=True)) == "none"
    assert details(streamlit_command(app_path())) == "full"  # on this computer, all of it


def test_an_environment_that_does_not_validate_stops_the_launch_without_its_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    misplaced_key = "sk-live-misplaced-0123456789"
    monkeypatch.setenv("BULK_TRANSCRIBE_CONCURRENCY", misplaced_key)
    with pytest.raises(PermanentError) as raised:
        ui_password(None)
    assert "concurrency:" in raised.value.message
    assert misplaced_key not in raised.value.message
