"""`bulk-transcribe ui` starts the web app on 127.0.0.1, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.addresses import AddressPolicy
from bulk_transcribe.web.launch import app_environment, app_path, streamlit_command
from tests.web.conftest import free_port

CLI = Path(sys.executable).with_name("bulk-transcribe")


def test_the_command_binds_to_this_computer_by_default() -> None:
    command = streamlit_command(app_path())
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert app_path().name == "app.py"


def test_bulk_transcribe_ui_serves_the_app(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "BULK_TRANSCRIBE_OUT_DIR": str(tmp_path / "out")}
    process = subprocess.Popen(
        [str(CLI), "ui", "--port", str(port)],
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
        assert "Streamlit" in httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text
    finally:
        process.terminate()
        process.wait(15)


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
