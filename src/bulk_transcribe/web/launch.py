"""Starting the web app: `bulk-transcribe ui` runs `streamlit run app.py` with safe defaults."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

from bulk_transcribe.errors import ErrorKind, PermanentError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
# src/bulk_transcribe/web/launch.py -> the repository root, where app.py and pages/ live.
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def app_path() -> Path:
    path = PROJECT_ROOT / "app.py"
    if not path.is_file():
        raise PermanentError(
            ErrorKind.NOT_FOUND,
            f"the web app is not where this installation expects it ({path}); run "
            "`streamlit run app.py` from a checkout of bulk-transcribe instead",
        )
    return path


def streamlit_command(app: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def serve(host: str, port: int, out_dir: Path | None = None) -> int:
    """Run the app until interrupted; returns Streamlit's exit code."""
    app = app_path()
    env = app_environment(host, out_dir)
    try:
        return subprocess.call(streamlit_command(app, host, port), cwd=app.parent, env=env)
    except KeyboardInterrupt:  # Ctrl-C reaches Streamlit too; it shuts down on its own
        return 0


def app_environment(host: str, out_dir: Path | None = None) -> dict[str, str]:
    """The environment the app (and every job it starts) runs in."""
    env = dict(os.environ)
    # Streamlit runs from the project folder (for .streamlit/config.toml), so a relative
    # output folder is pinned to where the user typed the command.
    out = out_dir or Path(env.get("BULK_TRANSCRIBE_OUT_DIR", "output"))
    env["BULK_TRANSCRIBE_OUT_DIR"] = str(out.expanduser().resolve())
    if not is_loopback(host):
        # Anyone who can reach the app can paste links: none may reach this machine or its
        # networks, whatever the settings say. Jobs started by the app inherit this.
        env["BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY"] = "1"
    if env.get("BULK_TRANSCRIBE_DB_PATH"):
        env["BULK_TRANSCRIBE_DB_PATH"] = str(Path(env["BULK_TRANSCRIBE_DB_PATH"]).resolve())
    return env
