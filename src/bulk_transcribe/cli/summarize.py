"""`bulk-transcribe summarize SESSION`: make the summaries a session's notes lack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.plurals import counted

from .common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    DbOption,
    OutOption,
    console,
    errors,
    find_session,
    open_store,
    settings_from,
    usage_error,
)


def register(app: typer.Typer) -> None:
    """Add this module's command to the `bulk-transcribe` app."""
    app.command()(summarize)


def summarize(
    session_id: Annotated[str, typer.Argument(help="Session id, a unique prefix, or 'latest'.")],
    out: OutOption = Path("output"),
    db: DbOption = None,
    again: Annotated[
        bool, typer.Option("--again", help="Summarise every item again, not only those without.")
    ] = False,
) -> None:
    """Summaries, key points and chapters for a session's transcripts that have none (a
    summary that failed during the run, or a run without --summarize); the transcripts are
    read from the store, nothing is transcribed again."""
    from bulk_transcribe import service

    settings = settings_from()
    with open_store(out, db) as store:
        session = find_session(store, session_id)
        owner = service.liveness(store, session.id)
        if owner is not None:
            raise usage_error(
                f"session {session.id} is running (pid {owner.pid} on host {owner.host}); "
                "summarise it when it has finished"
            )
        try:
            with console.status("Summarising…"):
                result = service.summarize_session(store, session.id, settings, again=again)
        except TranscribeError as exc:
            raise usage_error(exc.message) from exc
    console.print(f"{counted(result.made, 'summary', 'summaries')} made.", highlight=False)
    for title, why in result.failed:
        errors.print(f"[yellow]no summary:[/] {escape(title)}: {escape(why)}", highlight=False)
    raise typer.Exit(EXIT_SOME_FAILED if result.failed else EXIT_OK)
