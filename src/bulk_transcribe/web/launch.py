"""Starting the web app: `bulk-transcribe ui` runs the installed app with safe defaults.

The app's scripts ship inside the package (bulk_transcribe/web/app/), so an installed
bulk-transcribe needs no checkout. Streamlit runs in the user's working directory, so
`.env`, a relative output folder and `.streamlit/` there are the user's own.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

from pydantic import ValidationError

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.settings import Settings, describe_invalid
from bulk_transcribe.web.access import hash_password, new_signing_key

DEFAULT_HOST = "127.0.0.1"
PASSWORD_VARIABLE = "BULK_TRANSCRIBE_UI_PASSWORD"
DEFAULT_PORT = 8501
APP_FOLDER = Path(__file__).resolve().parent / "app"
# What a checkout's .streamlit/config.toml says, as flags: an installed app has no such file.
APP_OPTIONS = {
    "server.headless": "true",
    "server.runOnSave": "false",
    "server.fileWatcherType": "none",  # see .streamlit/config.toml: a watcher costs a core
    "runner.postScriptGC": "false",  # see .streamlit/config.toml: a full GC each refresh
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


def streamlit_command(
    app: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, shared: bool = False
) -> list[str]:
    """`shared`: served to a team; visitors see plain messages, never tracebacks (which name
    the server's files and code); the operator still reads them in the command's output."""
    options = {**APP_OPTIONS, "server.address": host, "server.port": str(port)}
    if shared:
        options["client.showErrorDetails"] = "none"
    flags = [part for name, value in options.items() for part in (f"--{name}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(app), *flags]


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def ui_password(password_file: Path | None = None) -> str | None:
    """The team password: the file's first line, or BULK_TRANSCRIBE_UI_PASSWORD (environment
    or .env); None when there is none."""
    if password_file is not None:
        try:
            lines = password_file.expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise PermanentError(
                ErrorKind.NOT_FOUND,
                f"cannot read the password file {password_file}: {exc.strerror or exc}",
            ) from exc
        if not lines or not lines[0]:
            raise PermanentError(
                ErrorKind.INVALID_INPUT,
                f"the password file {password_file} is empty: put the password on its first line",
            )
        return lines[0]
    try:
        password = Settings().ui_password
    except ValidationError as exc:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"the BULK_TRANSCRIBE_* environment or .env is not valid: {describe_invalid(exc)}",
        ) from exc
    return password.get_secret_value() if password and password.get_secret_value() else None


def check_shareable(host: str, password: str | None) -> None:
    """Beyond this computer, anyone who reaches the port could spend the server's API keys
    and read every transcript: refuse to start without a password."""
    if password is None and not is_loopback(host):
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"--host {host} makes the web app reachable beyond this computer, and it has no "
            f"password: set {PASSWORD_VARIABLE} (in the environment or .env) or pass "
            "--password-file FILE, then start it again; or leave --host at 127.0.0.1",
        )


def serve(
    host: str, port: int, out_dir: Path | None = None, password_file: Path | None = None
) -> int:
    """Run the app until interrupted or told to stop; returns Streamlit's exit code.

    A SIGTERM or SIGHUP (a service manager, a closed terminal) is passed on to the Streamlit
    server, so it never outlives the command holding the port. Jobs the app started run on:
    they are processes of their own and are resumable."""
    app = app_path()
    password = ui_password(password_file)
    check_shareable(host, password)
    env = app_environment(host, out_dir, password)
    shared = password is not None or not is_loopback(host)
    server = subprocess.Popen(streamlit_command(app, host, port, shared), env=env)

    def pass_on(signum: int, _frame: object) -> None:
        server.send_signal(signum)

    stops = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {stop: signal.signal(stop, pass_on) for stop in stops}
    try:
        while True:
            try:
                return server.wait()
            except KeyboardInterrupt:  # Ctrl-C reaches Streamlit too; wait while it shuts down
                continue
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def app_environment(
    host: str, out_dir: Path | None = None, password: str | None = None
) -> dict[str, str]:
    """The environment the app (and every job it starts) runs in. A password reaches the app
    as a salted hash and a fresh key that signs sign-ins; the password itself never does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_UI_")}
    if password is not None:
        env["BULK_TRANSCRIBE_UI_PASSWORD_HASH"] = hash_password(password)
        env["BULK_TRANSCRIBE_UI_SIGNING_KEY"] = new_signing_key()
    # Streamlit runs in the user's folder, so a relative output folder and the .env there
    # are the user's own; only an explicit --out is pinned.
    if out_dir is not None:
        env["BULK_TRANSCRIBE_OUT_DIR"] = str(out_dir.expanduser().resolve())
    if not is_loopback(host) or password is not None:
        # Anyone who can reach the app can paste links: none may reach this machine or its
        # networks, whatever the settings say. Jobs started by the app inherit this. A password
        # on loopback means a shared app behind a reverse proxy: the same holds.
        env["BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY"] = "1"
    if env.get("BULK_TRANSCRIBE_DB_PATH"):
        env["BULK_TRANSCRIBE_DB_PATH"] = str(Path(env["BULK_TRANSCRIBE_DB_PATH"]).resolve())
    return env
