"""Starting the web app: `bulk-transcribe ui` runs the installed app with safe defaults.

The app's scripts ship inside the package (bulk_transcribe/web/app/), so an installed
bulk-transcribe needs no checkout. Streamlit runs in the user's working directory, so
`.env`, a relative output folder and `.streamlit/` there are the user's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bulk_transcribe.errors import ErrorKind, PermanentError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
APP_FOLDER = Path(__file__).resolve().parent / "app"
# What a checkout's .streamlit/config.toml says, as flags: an installed app has no such file.
APP_OPTIONS = {
    "server.headless": "true",
    "server.runOnSave": "false",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",
    "client.showSidebarNavigation": "false",  # the sidebar draws its own links
    "client.showErrorDetails": "full",
    "theme.primaryColor": "#4f46e5",
}


def app_path() -> Path:
    path = APP_FOLDER / "app.py"
    if not path.is_file():
        raise PermanentError(
            ErrorKind.NOT_FOUND,
            f"the web app is missing from this installation ({path}); reinstall "
            "bulk-transcribe (pip install --force-reinstall bulk-transcribe)",
        )
    return path


def streamlit_command(app: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    options = {**APP_OPTIONS, "server.address": host, "server.port": str(port)}
    flags = [part for name, value in options.items() for part in (f"--{name}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(app), *flags]


def serve(host: str, port: int, out_dir: Path | None = None) -> int:
    """Run the app until interrupted; returns Streamlit's exit code."""
    app = app_path()
    env = dict(os.environ)
    if out_dir is not None:
        env["BULK_TRANSCRIBE_OUT_DIR"] = str(out_dir.expanduser().resolve())
    try:
        return subprocess.call(streamlit_command(app, host, port), env=env)
    except KeyboardInterrupt:  # Ctrl-C reaches Streamlit too; it shuts down on its own
        return 0
