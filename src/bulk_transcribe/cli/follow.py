"""`bulk-transcribe follow | follows | unfollow | update`: keep up with feeds and channels."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.plurals import counted
from bulk_transcribe.store import Store

from .common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    DbOption,
    OutOption,
    console,
    errors,
    parse_day,
    settings_from,
    usage_error,
)
from .running import check_summaries, exit_code, run_and_watch

if TYPE_CHECKING:
    from bulk_transcribe.service.follow import UpdatePlan

EXIT_BUSY = 75  # EX_TEMPFAIL: another update runs; cron may simply try again later


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `bulk-transcribe` app."""
    app.command(name="follow")(follow_command)
    app.command()(follows)
    app.command()(unfollow)
    app.command()(update)


def follow_command(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="Podcast feeds, YouTube channels or playlists (with --search: what to search).",
            show_default=False,
        ),
    ],
    out: OutOption = Path("output"),
    db: DbOption = None,
    latest: Annotated[
        int | None,
        typer.Option(
            help="The newest N at the first check (a channel, playlist or search: at each); "
            "a feed's every later episode is taken after it.",
            min=1,
        ),
    ] = None,
    date_after: Annotated[
        str | None, typer.Option(help="Only what was published on or after, e.g. 2024-01-31.")
    ] = None,
    date_before: Annotated[
        str | None, typer.Option(help="Only what was published on or before this day.")
    ] = None,
    title: Annotated[
        list[str] | None,
        typer.Option(help="Only titles containing this word (repeat: any of them)."),
    ] = None,
    search: Annotated[
        bool, typer.Option("--search", help="Follow a YouTube search: its newest videos.")
    ] = False,
) -> None:
    """Follow sources; `bulk-transcribe update` transcribes what is new in them."""
    from bulk_transcribe.service.follow import FollowFilters, follow

    filters = FollowFilters(
        latest=latest,
        date_after=parse_day(date_after),
        date_before=parse_day(date_before),
        title_words=tuple(w.strip() for w in title or () if w.strip()),
    )
    with Store(db or out / "bulk_transcribe.db") as store:
        for target in targets:
            try:
                followed, new = follow(store, target, filters, search=search)
            except TranscribeError as exc:
                raise usage_error(exc.message) from exc
            what = "Following" if new else "Already followed; filters now"
            rules = filters.describe()
            console.print(
                f"{what} #{followed.id} ({followed.kind}): {escape(followed.url)}"
                + (f" [{escape(rules)}]" if rules else ""),
                highlight=False,
            )
    console.print("`bulk-transcribe update` transcribes what is new.", highlight=False)


def follows(out: OutOption = Path("output"), db: DbOption = None) -> None:
    """List what is followed and what the last update found."""
    from bulk_transcribe.service.follow import followed

    path = db or out / "bulk_transcribe.db"
    if not path.exists():
        console.print("Nothing followed yet: `bulk-transcribe follow URL` starts.")
        return
    with Store(path) as store:
        rows = followed(store)
    if not rows:
        console.print("Nothing followed yet: `bulk-transcribe follow URL` starts.")
        return
    table = Table("#", "kind", "source", "filters", "last checked", "found", "new", "session")
    for row in rows:
        table.add_row(
            str(row.id),
            row.kind,
            escape(row.name[:60]) + _problem(row.last_problem),
            escape(row.filters.describe()),
            row.checked_at or "never",
            "" if row.last_found is None else str(row.last_found),
            "" if row.last_new is None else str(row.last_new),
            row.last_session_id or "",
        )  # fmt: skip
    console.print(table)


def _problem(text: str | None) -> str:
    return f"\n[red]{escape(text)}[/]" if text else ""


def unfollow(
    target: Annotated[
        str, typer.Argument(help="Its URL or its # in `follows`.", show_default=False)
    ],
    out: OutOption = Path("output"),
    db: DbOption = None,
) -> None:
    """Stop following a source (what it gave stays transcribed)."""
    from bulk_transcribe.service.follow import unfollow as stop_following

    with Store(db or out / "bulk_transcribe.db") as store:
        try:
            gone = stop_following(store, target)
        except TranscribeError as exc:
            raise usage_error(exc.message) from exc
    console.print(f"No longer following #{gone.id}: {escape(gone.name)}", highlight=False)


def update(
    out: OutOption = Path("output"),
    db: DbOption = None,
    formats: Annotated[
        str | None, typer.Option("--format", "-f", help="Comma-separated: md,srt,vtt,json,txt.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Whisper model name or folder.")] = None,
    language: Annotated[str | None, typer.Option(help="Language code, or 'auto'.")] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", help="Items at once, 1-10.")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="Speech-to-text engine.")] = None,
    provider: Annotated[str | None, typer.Option(help="Cloud preset, e.g. openai, groq.")] = None,
    api_base: Annotated[
        str | None, typer.Option(help="Base URL of an OpenAI-compatible API.")
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check-only", help="Say what is new; transcribe nothing.")
    ] = False,
    summarize: Annotated[
        bool,
        typer.Option(help="Summary, key points and chapters in each note (needs a chat model)."),
    ] = False,
) -> None:
    """Transcribe what appeared in followed sources since the last update, as one new session.

    Safe from cron: while one update runs, another says so and exits with 75, doing nothing.
    """
    from bulk_transcribe.service.follow import (
        UpdateBusy,
        check_follows,
        one_update_at_a_time,
    )
    from bulk_transcribe.service.follow import start_update as store_update

    settings = settings_from(
        out_dir=out,
        db_path=db,
        formats=formats,
        model=model,
        language=language,
        concurrency=concurrency,
        engine=engine,
        provider=provider,
        api_base=api_base,
        summarize=summarize or None,
    )
    check_summaries(settings)
    if not settings.database.exists():
        raise usage_error("nothing followed yet: `bulk-transcribe follow URL` first")
    with Store(settings.database) as store:
        try:
            with one_update_at_a_time(store):
                finished_earlier = [] if check_only else _finish_earlier(store)
                with console.status("Checking followed sources…"):
                    plan = check_follows(store, settings)
                if not plan.checks:
                    raise usage_error("nothing followed yet: `bulk-transcribe follow URL` first")
                _print_plan(plan)
                if check_only:
                    raise typer.Exit(EXIT_OK)
                session = store_update(store, settings, plan)
                if session is None:
                    console.print("Nothing new.")
                    raise typer.Exit(max([EXIT_OK, *finished_earlier]))
                console.print(f"Session [bold]{session.id}[/] → {session.folder}", highlight=False)
                counts = run_and_watch(store, session, settings)
        except UpdateBusy as exc:
            errors.print(f"[bold yellow]busy:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(EXIT_BUSY) from exc
    raise typer.Exit(max([exit_code(counts), *finished_earlier]))


def _finish_earlier(store: Store) -> list[int]:
    """Run to their end the sessions earlier updates left unfinished; their exit codes."""
    from bulk_transcribe import service
    from bulk_transcribe.service.follow import unfinished_updates

    codes = []
    for session in unfinished_updates(store):
        console.print(
            f"Finishing session [bold]{session.id}[/], left unfinished by an earlier update.",
            highlight=False,
        )
        try:
            resumed = service.resume_settings(store, session)
        except TranscribeError as exc:
            errors.print(f"[yellow]skipped:[/] {escape(exc.message)}", highlight=False)
            codes.append(EXIT_SOME_FAILED)
            continue
        codes.append(exit_code(run_and_watch(store, session, resumed)))
    return codes


def _print_plan(plan: UpdatePlan) -> None:
    table = Table("#", "source", "found", "new", "done before", "seen before", "problem")
    for check in plan.checks:
        table.add_row(
            str(check.follow.id),
            escape((check.title or check.follow.url)[:60]),
            str(len(check.found)),
            str(len(check.new)),
            str(check.done_before),
            str(check.seen_before),
            escape("; ".join(check.problems)[:120]),
        )
    console.print(table)
    for check in plan.checks:
        if check.moved_to:
            console.print(
                f"  #{check.follow.id} moved for good to {escape(check.moved_to)}: followed "
                "there from the first update that reads it",
                highlight=False,
            )
        for spec in check.new:
            console.print(
                f"  new in #{check.follow.id}: {escape(spec.title or spec.source)}",
                highlight=False,
            )
    console.print(f"{counted(len(plan.new_items), 'new item')} to transcribe.", highlight=False)
