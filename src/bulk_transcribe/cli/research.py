"""`bulk-transcribe find` (search everything transcribed) and `search` (find videos)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.plurals import counted
from bulk_transcribe.service.research import Candidate, Order, VideoQuery
from bulk_transcribe.settings import Settings, describe_invalid
from bulk_transcribe.store import Store

from .common import (
    EXIT_OK,
    DbOption,
    OutOption,
    console,
    database_path,
    errors,
    find_session,
    open_store,
    parse_day,
    usage_error,
)

# The finders, exporters and search index load in the commands that use them, so that
# registering these commands costs the other commands nothing (cli/main.py).

EXIT_NOTHING_FOUND = 1


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `bulk-transcribe` app."""
    app.command()(search)
    app.command()(find)


def parse_duration(text: str | None) -> float | None:
    """Seconds from 90, 90s, 10m, 1h30m or 1:02:03."""
    if text is None or not text.strip():
        return None
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    if re.fullmatch(r"\d+(:\d{1,2}){1,2}", value):
        seconds = 0.0
        for part in value.split(":"):
            seconds = seconds * 60 + int(part)
        return seconds
    found = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", value)
    if found and any(found.groups()):
        hours, minutes, secs = (int(g or 0) for g in found.groups())
        return float(hours * 3600 + minutes * 60 + secs)
    raise typer.BadParameter(f"{text!r} is not a duration; write e.g. 90s, 10m, 1h30m or 1:30:00")


def search(
    query: Annotated[str, typer.Argument(help="What to search YouTube for.", show_default=False)],
    limit: Annotated[int, typer.Option(help="How many videos to list.", min=1, max=500)] = 20,
    min_duration: Annotated[
        str | None, typer.Option(help="Shortest video, e.g. 5m, 90s, 1:00:00.")
    ] = None,
    max_duration: Annotated[str | None, typer.Option(help="Longest video, e.g. 2h.")] = None,
    after: Annotated[
        str | None, typer.Option(help="Only videos published on or after, e.g. 2024-01-31.")
    ] = None,
    order: Annotated[Order, typer.Option(help="relevance, date or views.")] = Order.RELEVANCE,
    save: Annotated[
        Path | None,
        typer.Option("--save", help="Write the list: list.csv (for `run`) or list.json."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    out: OutOption = Path("output"),
    db: DbOption = None,
    plan: Annotated[
        bool,
        typer.Option(help="QUERY is a research question: a chat model turns it into searches."),
    ] = False,
    score: Annotated[
        bool, typer.Option(help="A chat model scores each video's relevance, with a reason.")
    ] = False,
) -> None:
    """Find YouTube videos to transcribe (the YouTube Data API with YOUTUBE_API_KEY, else
    yt-dlp); write them to a list that `bulk-transcribe run list.csv` transcribes."""
    from bulk_transcribe.service.research import (
        ChatNotConfigured,
        backend_name,
        gather,
        json_text,
        mark_transcribed,
        write_list,
    )

    try:
        settings = Settings()
        wanted = VideoQuery(
            text=query,
            limit=limit,
            min_duration=parse_duration(min_duration),
            max_duration=parse_duration(max_duration),
            after=parse_day(after),
            order=order,
        )
    except ValidationError as exc:
        raise usage_error(describe_invalid(exc)) from exc
    except TranscribeError as exc:
        raise usage_error(exc.message) from exc
    errors.print(f"Searching with {backend_name(settings)}…", highlight=False)
    try:
        gathered = gather(
            wanted,
            settings,
            plan=plan,
            score=score,
            report=lambda line: errors.print(line, highlight=False),
        )
    except ChatNotConfigured as exc:
        raise usage_error(str(exc)) from exc
    except TranscribeError as exc:
        raise usage_error(exc.message) from exc
    if plan:
        errors.print("Searched: " + "; ".join(gathered.queries), highlight=False)
    for note in gathered.notes:
        errors.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    videos = gathered.videos
    database = database_path(out, db)
    if database.exists():  # videos already transcribed there are marked
        with Store(database) as store:
            videos = mark_transcribed(store, videos)
    if save is not None:
        write_list(save, videos)
        errors.print(f"Wrote {counted(len(videos), 'video')} to {save}", highlight=False)
    if as_json:
        print(json_text(videos), end="")
    else:
        _print_videos(videos)
    raise typer.Exit(EXIT_OK if videos else EXIT_NOTHING_FOUND)


def _print_videos(videos: list[Candidate]) -> None:
    from bulk_transcribe.figures import clock

    if not videos:
        console.print("No videos found.")
        return
    scored = any(v.relevance is not None for v in videos)
    columns = ["#", "title", "channel", "length", "published", "views", "cc", "done", "url"]
    table = Table(*columns, *(["relevance", "why"] if scored else []))
    for number, video in enumerate(videos, start=1):
        published = video.published.isoformat() if video.published else ""
        if video.published_approximate and published:
            published = "~" + published
        table.add_row(
            str(number),
            escape(video.title[:60]),
            escape((video.channel or "")[:30]),
            clock(video.duration) if video.duration is not None else "",
            published,
            f"{video.views:,}" if video.views is not None else "",
            {True: "yes", False: "no", None: "?"}[video.captions],
            "✓" if video.transcribed else "",
            video.url,
            *(
                [f"{video.relevance:.2f}" if video.relevance is not None else "–",
                 escape(video.reason or "")]
                if scored
                else []
            ),
        )  # fmt: skip
    console.print(table)
    if any(v.transcribed for v in videos):
        console.print("✓: already transcribed in this store.")


def find(
    phrase: Annotated[
        str,
        typer.Argument(
            help='Words (all must occur), "an exact phrase", prefix*, AND / OR / NOT.',
            show_default=False,
        ),
    ],
    out: OutOption = Path("output"),
    db: DbOption = None,
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
    from bulk_transcribe import service

    with open_store(out, db) as store:
        wanted_session = find_session(store, session_id).id if session_id else None
        with service.open_search_index(store) as index:
            try:
                result = index.search(
                    phrase, session_id=wanted_session, sources=source or [], limit=limit
                )
            except TranscribeError as exc:
                raise usage_error(exc.message) from exc
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
    from bulk_transcribe.figures import clock
    from bulk_transcribe.store.search_index import MATCH_END, MATCH_START

    if not result.hits:
        console.print(
            f"No match for {result.query!r} in {counted(result.searchable_items, 'transcript')}.",
            highlight=False,
        )
        return
    for hit in result.hits:
        text = escape(hit.text).replace(MATCH_START, "[bold yellow]").replace(MATCH_END, "[/]")
        console.print(
            f"[bold]{escape(hit.title)}[/] [cyan]{clock(hit.start, moment=True)}[/]"
            f" [dim]session {hit.session_id}[/]",
            highlight=False,
        )
        console.print(f"  {text}", highlight=False)
        console.print(f"  [link={hit.link}]{escape(hit.link)}[/link]", highlight=False)
    console.print(
        f"{counted(len(result.hits), 'hit')} in "
        f"{counted(result.searchable_items, 'searchable transcript')}.",
        highlight=False,
    )
