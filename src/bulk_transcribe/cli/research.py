"""`bulk-transcribe find` (search everything transcribed) and `search` (find videos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.outputs.moments import clock
from bulk_transcribe.store import Store
from bulk_transcribe.store.search_index import MATCH_END, MATCH_START, SearchIndex

EXIT_OK, EXIT_NOTHING_FOUND, EXIT_USAGE = 0, 1, 2

console = Console()
errors = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `bulk-transcribe` app."""
    app.command()(find)


def _usage_error(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(EXIT_USAGE)


def _open_store(out: Path, db: Path | None) -> Store:
    path = db or out / "bulk_transcribe.db"
    if not path.exists():
        raise _usage_error(f"no sessions found: {path} does not exist (use --out or --db)")
    return Store(path)


def find(
    phrase: Annotated[
        str,
        typer.Argument(
            help='Words (all must occur), "an exact phrase", prefix*, AND / OR / NOT.',
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("output"),
    db: Annotated[
        Path | None, typer.Option("--db", help="SQLite file (default: OUT/bulk_transcribe.db).")
    ] = None,
    session_id: Annotated[
        str | None, typer.Option("--session", help="Only this session (id or unique prefix).")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(help="Only sources containing this text, or of this type (youtube, ...)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many hits.", min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Search everything transcribed; each hit with its time and a link to that moment."""
    with _open_store(out, db) as store:
        wanted_session = None
        if session_id:
            session = store.find_session(session_id)
            if session is None:
                raise _usage_error(
                    f"no session matches {session_id!r}; `bulk-transcribe sessions` lists them"
                )
            wanted_session = session.id
        with SearchIndex(store) as index:
            try:
                result = index.search(
                    phrase, session_id=wanted_session, sources=source or [], limit=limit
                )
            except TranscribeError as exc:
                raise _usage_error(exc.message) from exc
    for problem in result.refresh.unreadable:
        errors.print(f"[yellow]not searchable:[/] {escape(problem)}", highlight=False)
    if as_json:
        hits = [
            {
                "title": h.title,
                "session_id": h.session_id,
                "source": h.source,
                "start": h.start,
                "end": h.end,
                "text": h.plain_text,
                "link": h.link,
            }
            for h in result.hits
        ]
        console.print_json(json.dumps(hits, ensure_ascii=False))
    else:
        _print_hits(result)
    raise typer.Exit(EXIT_OK if result.hits else EXIT_NOTHING_FOUND)


def _print_hits(result) -> None:
    if not result.hits:
        console.print(
            f"No match for {result.query!r} in {result.searchable_items} transcript(s).",
            highlight=False,
        )
        return
    for hit in result.hits:
        text = escape(hit.text).replace(MATCH_START, "[bold yellow]").replace(MATCH_END, "[/]")
        console.print(
            f"[bold]{escape(hit.title)}[/] [cyan]{clock(hit.start)}[/]"
            f" [dim]session {hit.session_id}[/]",
            highlight=False,
        )
        console.print(f"  {text}", highlight=False)
        console.print(f"  [link={hit.link}]{escape(hit.link)}[/link]", highlight=False)
    console.print(
        f"{len(result.hits)} hit(s) in {result.searchable_items} searchable transcript(s).",
        highlight=False,
    )
