"""What every command shares: its consoles, its way of saying a usage error, opening the
store and finding a session, and the options they have in common."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from bulk_transcribe.models import Owner, Session
from bulk_transcribe.settings import Settings, describe_invalid
from bulk_transcribe.store import Store

from .progress import shown

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_PROVIDER_DOWN = 75  # EX_TEMPFAIL: the cloud provider did not answer; resume later


def make_console(*, stderr: bool = False) -> Console:
    """On a terminal, lines fit its width; off one (a log, a pipe, cron, a test) each message
    is printed whole on its line: rich would otherwise wrap at 80 columns and cut a phrase,
    a path or a command to copy in two."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.soft_wrap = True
    return console


console = make_console()
errors = make_console(stderr=True)

# Rich help panels: `bulk-transcribe run --help` groups its options under these.
INPUT, ENGINE, PARALLEL, SOURCES, STORAGE, SCALE = (
    "Input",
    "Speech to text",
    "Parallel processing and limits",
    "YouTube, feeds and links",
    "Output and storage",
    "Scale-out (Ray)",
)

OutOption = Annotated[
    Path,
    typer.Option(
        "--out", "-o", help="Output folder (sessions, database, cache).", rich_help_panel=STORAGE
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help="SQLite file (default: OUT/bulk_transcribe.db).", rich_help_panel=STORAGE
    ),
]
SessionArgument = Annotated[str, typer.Argument(help="Session id, a unique prefix, or 'latest'.")]
ExecutorOption = Annotated[
    str | None,
    typer.Option(
        help="Where items run: threads (this process) or ray (a Ray cluster).",
        rich_help_panel=SCALE,
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        help="Ray cluster to join, e.g. 10.0.0.5:6379 (default: a local instance).",
        rich_help_panel=SCALE,
    ),
]
ConcurrencyOption = Annotated[
    int | None,
    typer.Option(
        "--concurrency", "-j", help="Items at once, 1-10 (1: sequential).", rich_help_panel=PARALLEL
    ),
]


def usage_error(message: str) -> typer.Exit:
    """Print the message as the error it is and return the exit to raise. Escaped and
    scrubbed: a message may quote brackets (paths, `pip install 'pkg[extra]'`) that are not
    markup, and links with credentials."""
    errors.print(f"[bold red]error:[/] {shown(message)}", highlight=False)
    return typer.Exit(EXIT_USAGE)


def database_path(out: Path, db: Path | None) -> Path:
    return db or out / "bulk_transcribe.db"


def where_options(session: Session, db: Path) -> str:
    """The --out (and --db) a later command needs to find this session again."""
    options = f" --out {session.out_dir}" if session.out_dir != Path("output") else ""
    if Path(db).resolve() != database_path(session.out_dir, None).resolve():
        options += f" --db {db}"  # without it, resume would look beside the outputs
    return options


def resume_command(session: Session, db: Path) -> str:
    """`bulk-transcribe resume ID` with what it needs to find the session from anywhere."""
    return f"bulk-transcribe resume {session.id}{where_options(session, db)}"


def busy_error(session: Session, owner: Owner, db: Path) -> typer.Exit:
    """The session runs in another live process: who, and the commands that reach it."""
    where = where_options(session, db)
    return usage_error(
        f"session {session.id} is being processed by pid {owner.pid} on host {owner.host}; "
        f"use `bulk-transcribe status {session.id}{where}` to watch it, or "
        f"`bulk-transcribe stop {session.id}{where}` to stop it"
    )


def open_store(out: Path, db: Path | None) -> Store:
    """The store of an output folder that has one; a usage error when there is none."""
    path = database_path(out, db)
    if not path.exists():
        raise usage_error(f"no sessions found: {path} does not exist (use --out or --db)")
    return Store(path)


def find_session(store: Store, session_id: str) -> Session:
    session = store.find_session(session_id)
    if session is None:
        fitting = [s.id for s in store.list_sessions() if s.id.startswith(session_id)]
        if len(fitting) > 1:
            shown = ", ".join(sorted(fitting)[:5]) + (", …" if len(fitting) > 5 else "")
            raise usage_error(
                f"{session_id!r} matches {len(fitting)} sessions ({shown}); type more of its id"
            )
        raise usage_error(
            f"no session matches {session_id!r}; `bulk-transcribe sessions` lists them"
        )
    return session


def parse_day(text: str | None) -> date | None:
    """2024-01-31 or 20240131 (as yt-dlp users write it); None when not given."""
    if not text:
        return None
    value = text.strip()
    if re.fullmatch(r"\d{8}", value):
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date; write e.g. 2024-01-31") from None


def settings_from(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise usage_error(describe_invalid(exc)) from exc
