"""`bulk-transcribe run | resume | stop | cancel | status | sessions | export | ui`."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from bulk_transcribe import service
from bulk_transcribe.errors import TranscribeError, disk_full, is_disk_full
from bulk_transcribe.models import Session, SessionStatus
from bulk_transcribe.plurals import counted
from bulk_transcribe.settings import Settings, describe_invalid
from bulk_transcribe.store import Store

# The service's runner, sources, outputs and ingest stack (about a third of a second of
# imports) load inside the commands that use them (`service` imports its parts on first
# use): `run` starts loading the speech model first, so the two overlap, and `status`,
# `stop` or `--help` answer sooner.
if TYPE_CHECKING:
    from bulk_transcribe.service.inputs import ExpandResult, IngestResult

from .ask import register as register_ask_command
from .cache import cache
from .common import (
    ENGINE,
    EXIT_PROVIDER_DOWN,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    INPUT,
    PARALLEL,
    SOURCES,
    STORAGE,
    ConcurrencyOption,
    DbOption,
    ExecutorOption,
    OutOption,
    RayAddressOption,
    SessionArgument,
    busy_error,
    console,
    errors,
    find_session,
    open_store,
    resume_command,
    settings_from,
    usage_error,
)
from .follow import register as register_follow_commands
from .progress import (
    degrade_unprintable_output,
    format_minutes,
    shown,
)
from .reports import BIG_SESSION_ITEMS, PROBLEM_ROWS, print_counts, print_items, print_more
from .research import register as register_research_commands
from .running import check_summaries, exit_code, run_and_watch
from .summarize import register as register_summarize_command

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn lists of videos, podcasts and local media into organised transcripts.",
)
app.command()(cache)


def _refuse_if_running(store: Store, session: Session) -> None:
    owner = service.liveness(store, session.id)
    if owner is not None:
        raise busy_error(session, owner, store.path)


@app.command()
def run(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Lists (.txt), notes (.md), sheets (.csv/.tsv/.xlsx), folders, media files, "
            "URLs or - (stdin)."
        ),
    ],
    out: OutOption = Path("output"),
    db: DbOption = None,
    formats: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="Comma-separated: md,srt,vtt,json,txt.", rich_help_panel=STORAGE
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Whisper model name or folder (default: bundled tiny.en).", rich_help_panel=ENGINE
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Language code, or 'auto' to detect.", rich_help_panel=ENGINE)
    ] = None,
    concurrency: ConcurrencyOption = None,
    engine: Annotated[
        str | None, typer.Option(help="Speech-to-text engine.", rich_help_panel=ENGINE)
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            help="Cloud preset: openai, groq, deapi, speaches, localai or custom.",
            rich_help_panel=ENGINE,
        ),
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option(
            help="Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1.",
            rich_help_panel=ENGINE,
        ),
    ] = None,
    rpm: Annotated[
        int | None,
        typer.Option(
            help="Provider requests per minute (default: the provider's preset).",
            rich_help_panel=PARALLEL,
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            help="Worksheet of an .xlsx (default: the first with links).", rich_help_panel=INPUT
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            help="Map a column, e.g. --column url=Link (url, title, description).",
            rich_help_panel=INPUT,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            help="At most N videos from each playlist or channel.", rich_help_panel=SOURCES
        ),
    ] = None,
    latest: Annotated[
        int | None,
        typer.Option(
            help="Only the newest N episodes of each podcast feed.", rich_help_panel=SOURCES
        ),
    ] = None,
    date_after: Annotated[
        str | None,
        typer.Option(
            help="Only videos/episodes published on or after, e.g. 2024-01-31.",
            rich_help_panel=SOURCES,
        ),
    ] = None,
    date_before: Annotated[
        str | None,
        typer.Option(
            help="Only videos/episodes published on or before this day.", rich_help_panel=SOURCES
        ),
    ] = None,
    captions: Annotated[
        bool | None,
        typer.Option(
            "--captions/--no-captions",
            help="Use YouTube captions when a video has them.",
            rich_help_panel=SOURCES,
        ),
    ] = None,
    caption_lang: Annotated[
        list[str] | None,
        typer.Option(
            help="Preferred caption language(s), in order (default: video's, then en).",
            rich_help_panel=SOURCES,
        ),
    ] = None,
    cookies: Annotated[
        Path | None,
        typer.Option(
            help="cookies.txt (Netscape format) for YouTube sign-in.", rich_help_panel=SOURCES
        ),
    ] = None,
    proxy: Annotated[
        str | None, typer.Option(help="Proxy URL for YouTube requests.", rich_help_panel=SOURCES)
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Transcribe again what earlier sessions already did.", rich_help_panel=STORAGE
        ),
    ] = False,
    speakers: Annotated[
        str | None,
        typer.Option(
            help="Label speakers: auto or their number (needs the speakers extra).",
            rich_help_panel=ENGINE,
        ),
    ] = None,
    speaker_encoder: Annotated[
        str | None,
        typer.Option(
            help="Voice encoder for --speakers: auto (CAM++ where installed, else "
            "Resemblyzer), campplus or resemblyzer.",
            rich_help_panel=ENGINE,
        ),
    ] = None,
    speaker_overlap: Annotated[
        bool | None,
        typer.Option(
            "--speaker-overlap/--no-speaker-overlap",
            help="With --speakers: find turns with a segmentation model that hears two voices "
            "at once (CAM++ only). Better on real meetings and crosstalk, worse on clean "
            "turns of similar voices; about twice the CPU.",
            rich_help_panel=ENGINE,
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(help="Local model on cpu (default), cuda, or auto.", rich_help_panel=ENGINE),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option(help="Names and terms to spell as given, e.g. 'Nguyen, Kubernetes'."),
    ] = None,
    hotwords: Annotated[
        str | None,
        typer.Option(help="Words the local model should favour (stronger than --prompt)."),
    ] = None,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    allow_private_addresses: Annotated[
        bool,
        typer.Option(
            help="Let links reach private and link-local network addresses (LAN servers).",
            rich_help_panel=SOURCES,
        ),
    ] = False,
    summarize: Annotated[
        bool,
        typer.Option(
            help="Summary, key points and chapters in each note (needs a chat model).",
            rich_help_panel=STORAGE,
        ),
    ] = False,
) -> None:
    """Transcribe everything in INPUTS into a new session folder."""
    settings = settings_from(
        out_dir=out,
        db_path=db,
        formats=formats,
        model=model,
        language=language,
        concurrency=concurrency,
        rpm=rpm,
        engine=engine,
        provider=provider,
        api_base=api_base,
        limit=limit,
        latest=latest,
        date_after=date_after,
        date_before=date_before,
        captions=captions,
        caption_languages=_split_languages(caption_lang),
        cookies_file=cookies,
        proxy=proxy,
        force=force or None,
        speakers=speakers,
        speaker_encoder=speaker_encoder,
        speaker_overlap=speaker_overlap,
        device=device,
        prompt=prompt,
        hotwords=hotwords,
        executor=executor,
        ray_address=ray_address,
        allow_private_addresses=allow_private_addresses or None,
        summarize=summarize or None,
    )
    check_summaries(settings)
    # First of all, so the model loads while the rest of the program is imported.
    with service.providers.model_loading_early(settings) as local_engine:
        _check_executor(settings)
        if settings.cookies_file and not settings.cookies_file.is_file():
            raise usage_error(f"--cookies {settings.cookies_file}: no such file")
        try:
            ingested = service.inputs.read_inputs(
                inputs, sheet=sheet, columns=column or [], stdin=sys.stdin
            )
        except TranscribeError as exc:
            raise usage_error(exc.message) from exc
        _report_ingest(ingested)
        if not ingested.items:
            raise usage_error("nothing to transcribe: no valid entries in the input")
        expanded = _expand(ingested, settings)
        if not expanded.items:
            raise usage_error("nothing to transcribe: the playlists and feeds gave no items")

        _check_cloud_setup(settings)
        with Store(settings.database) as store:
            session = service.start_session(
                store,
                settings,
                expanded.items,
                invalid=[*ingested.invalid, *expanded.invalid],
            )
            links = service.session_links(store, expanded.items)  # in memory only, this run
            _report_archived(store, session)
            console.print(f"Session [bold]{session.id}[/] → {session.folder}", highlight=False)
            _cloud_preflight(settings, store, session)
            counts = run_and_watch(store, session, settings, local_engine, links)
    raise typer.Exit(_with_unusable_input(exit_code(counts), ingested, expanded))


def _with_unusable_input(code: int, ingested: IngestResult, expanded: ExpandResult) -> int:
    """Entries of the input that never became items are work not done, like a failed item:
    a script checking the exit code must not take the run for complete. An input that
    could not be expanded counts; an episode or video it left out (no audio, private) does
    not: there is nothing to fix and run again."""
    inputs = {item.source for item in ingested.items}
    unexpanded = [entry for entry in expanded.invalid if entry.value in inputs]
    unusable = len(ingested.invalid) + len(unexpanded)
    if not unusable:
        return code
    entries = counted(unusable, "entry", "entries")
    errors.print(
        f"[yellow]warning:[/] {entries} of the input could not be used (listed above, and "
        "as input_problems in manifest.json): fix them and run those again",
        highlight=False,
    )
    return max(code, EXIT_SOME_FAILED)


@app.command()
def resume(
    session_id: SessionArgument,
    out: OutOption = Path("output"),
    db: DbOption = None,
    concurrency: ConcurrencyOption = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Also re-queue items that failed.")
    ] = False,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Finish an interrupted session: finished items are kept, the rest is done.

    Items that failed for a passing reason (network, full disk, time limit, rate limit) are
    tried again; --retry-failed tries every failed item again.
    """
    with open_store(out, db) as store:
        session = find_session(store, session_id)
        _refuse_if_running(store, session)
        try:
            settings = service.resume_settings(
                store,
                session,
                concurrency=concurrency,
                executor=executor,
                ray_address=ray_address,
            )
        except ValidationError as exc:
            raise usage_error(describe_invalid(exc)) from exc
        except TranscribeError as exc:
            raise usage_error(exc.message) from exc
        with service.providers.model_loading_early(settings) as local_engine:
            _check_executor(settings)
            if retry_failed:
                requeued = service.retry_failed(store, session.id)
                console.print(f"Re-queued {counted(requeued, 'failed item')}.")
            console.print(f"Resuming [bold]{session.id}[/] → {session.folder}", highlight=False)
            _cloud_preflight(settings, store, session)
            links = service.handed_links()  # from the web app that started this job, if any
            counts = run_and_watch(store, session, settings, local_engine, links)
    raise typer.Exit(exit_code(counts))


@app.command()
def status(
    session_id: Annotated[
        str, typer.Argument(help="Session id, a unique prefix, or 'latest'.")
    ] = "latest",
    out: OutOption = Path("output"),
    db: DbOption = None,
    all_items: Annotated[
        bool, typer.Option("--all", help="List every item, also in a big session.")
    ] = False,
) -> None:
    """Show one session: counts, and its items (in a big one, those not done)."""
    with open_store(out, db) as store:
        session = find_session(store, session_id)
        counts = store.counts(session.id)
        owner = service.liveness(store, session.id)
        console.print(
            f"Session [bold]{session.id}[/] ({_shown_status(session, owner is not None)}) → "
            f"{session.folder}",
            highlight=False,
        )
        if owner is not None:
            console.print(f"Being processed by pid {owner.pid} on host {owner.host}.")
        elif session.status is SessionStatus.RUNNING:
            console.print(
                "No process runs it any more (a crash, a kill or a lost machine stopped it); "
                f"finished items are kept: `{resume_command(session, store.path)}` does the rest.",
                highlight=False,
            )
        big = counts.total > BIG_SESSION_ITEMS and not all_items
        print_items(store, session, counts, only_problems=big, owner_alive=owner is not None)
        print_counts(counts)
        if big:
            console.print(
                f"{counts.total} items: only those not done are listed; --all lists every one.",
                highlight=False,
            )


@app.command()
def stop(
    session_id: SessionArgument,
    out: OutOption = Path("output"),
    db: DbOption = None,
) -> None:
    """Ask a running session to finish its running items and start nothing new."""
    _send(session_id, out, db, service.request_stop, "stop after its running items")


@app.command()
def cancel(
    session_id: SessionArgument,
    out: OutOption = Path("output"),
    db: DbOption = None,
) -> None:
    """Ask a running session to abort its running items now (it stays resumable)."""
    _send(session_id, out, db, service.request_cancel, "cancel its running items")


def _send(session_id: str, out: Path, db: Path | None, command, what: str) -> None:
    with open_store(out, db) as store:
        session = find_session(store, session_id)
        owner = command(store, session.id)
        if owner is None:
            raise usage_error(
                f"session {session.id} is not running ({session.status.value}); "
                f"`{resume_command(session, store.path)}` continues it"
            )
        console.print(
            f"Asked pid {owner.pid} on host {owner.host} to {what} (session {session.id}).",
            highlight=False,
        )


@app.command()
def export(
    session_id: SessionArgument,
    out: OutOption = Path("output"),
    db: DbOption = None,
    formats: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="Comma-separated: md,srt,vtt,json,txt (default: the session's)."
        ),
    ] = None,
    to: Annotated[
        Path | None, typer.Option("--to", help="Write here instead of the session's own folder.")
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Also replace files edited since they were written (edits lost)."
        ),
    ] = False,
) -> None:
    """Write a session's transcripts again from the store (a deleted folder is no loss).

    A file that differs from what would be written (a note edited in Obsidian) is kept as it
    is; --overwrite replaces it too."""
    with open_store(out, db) as store:
        session = find_session(store, session_id)
        chosen = settings_from(formats=formats).formats if formats else None
        try:
            result = service.export_session(
                store, session.id, formats=chosen, to=to, overwrite=overwrite
            )
        except OSError as exc:
            if is_disk_full(exc):
                raise
            # Not the generic advice (--out): an export writes to --to, or the session folder.
            where = f" {exc.filename}" if exc.filename else ""
            raise usage_error(
                f"cannot write{where}: {exc.strerror or exc}; choose a folder you can write "
                "to with --to (the transcripts stay in the store: nothing is lost)"
            ) from exc
    console.print(f"Wrote {counted(result.written, 'item')} to {result.folder}", highlight=False)
    if result.kept:
        names = ", ".join(path.name for path in result.kept[:5])
        more = f" and {len(result.kept) - 5} more" if len(result.kept) > 5 else ""
        errors.print(
            f"[yellow]kept as they are:[/] {counted(len(result.kept), 'file')} edited since they "
            f"were written ({shown(names)}{more}); --overwrite replaces them (the edits are lost)",
            highlight=False,
        )
    if result.missing:
        errors.print(
            f"[yellow]warning:[/] {counted(len(result.missing), 'item')} finished before "
            "transcripts were kept in the store; their files cannot be written again: "
            + shown(", ".join(result.missing[:5])),
            highlight=False,
        )
        raise typer.Exit(EXIT_SOME_FAILED)


@app.command()
def sessions(out: OutOption = Path("output"), db: DbOption = None) -> None:
    """List sessions, newest first."""
    with open_store(out, db) as store:
        table = Table("session", "status", "items", "done", "failed", "queued", "audio min")
        for session in store.list_sessions():
            counts = store.counts(session.id)
            table.add_row(
                session.id,
                _shown_status(session, service.liveness(store, session.id) is not None),
                str(counts.total),
                str(counts.done),
                str(counts.failed),
                str(counts.queued + counts.running),
                format_minutes(counts.audio_seconds_total),
            )
        console.print(table)


def _shown_status(session: Session, owner_alive: bool) -> str:
    """The status as a user should read it: "running" only while a process runs it."""
    if session.status is SessionStatus.RUNNING and not owner_alive:
        return "interrupted"
    return session.status.value


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port to serve the web app on.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind; 127.0.0.1 keeps it on this computer.")
    ] = "127.0.0.1",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default: ./output).")
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(
            help="File whose first line is the team password (instead of "
            "BULK_TRANSCRIBE_UI_PASSWORD); required with a --host beyond this computer."
        ),
    ] = None,
) -> None:
    """Open the web app (Streamlit) at http://HOST:PORT."""
    from bulk_transcribe.web.launch import serve  # Streamlit loads only for this command

    try:
        raise typer.Exit(serve(host, port, out, password_file))
    except TranscribeError as exc:
        raise usage_error(exc.message) from exc


def _check_executor(settings: Settings) -> None:
    try:
        service.providers.check_executor(settings)
    except TranscribeError as exc:
        raise usage_error(exc.message) from exc


def _check_cloud_setup(settings: Settings) -> None:
    """A missing key or an unknown preset stops the run before a session is made."""
    setup = service.providers.check_cloud_setup(settings)
    if not setup.ok:
        raise usage_error(
            f"{setup.message} in the environment or in .env"
            if setup.problem is service.providers.AccessProblem.MISSING_KEY
            else setup.message
        )


def _cloud_preflight(settings: Settings, store: Store, session: Session) -> None:
    """Key and endpoint tried once, with balance and price estimate where the provider offers
    them, before anything is spent."""
    if settings.engine == "local":
        return
    audio_seconds = store.counts(session.id).audio_seconds_total or None
    check = service.providers.check_cloud_access(settings, audio_seconds)
    for line in check.notes:
        console.print(line, highlight=False)
    if check.ok:
        return
    if not check.transient:
        raise usage_error(f"{check.message} (session {session.id} kept; resume later)")
    if check.problem is not service.providers.AccessProblem.UNREACHABLE:  # busy: items wait
        errors.print(f"[yellow]warning:[/] {shown(check.message)}", highlight=False)
        return
    # An endpoint that does not answer now would fail every item after its retries (about
    # ten seconds an item): nothing is sent; the session waits for a resume.
    errors.print(
        f"[bold red]error:[/] {shown(check.message)}; nothing was sent. Session {session.id} is "
        f"kept: `{resume_command(session, store.path)}` when the provider answers again",
        highlight=False,
    )
    raise typer.Exit(EXIT_PROVIDER_DOWN)


def _report_ingest(ingested: IngestResult) -> None:
    console.print(f"{counted(len(ingested.items), 'item')} to transcribe.")
    if ingested.duplicates_merged:
        console.print(f"Merged {counted(ingested.duplicates_merged, 'duplicate')}.")
    for warning in ingested.warnings:
        errors.print(f"[yellow]warning:[/] {shown(warning)}", highlight=False)
    if ingested.invalid:
        table = Table("where", "entry", "problem", title="Skipped invalid entries")
        for entry in ingested.invalid[:PROBLEM_ROWS]:
            table.add_row(shown(entry.origin), shown(entry.value[:60]), shown(entry.reason))
        errors.print(table)
        print_more(errors, len(ingested.invalid), "invalid entries", "the session's events")


def _split_languages(values: list[str] | None) -> tuple[str, ...] | None:
    """--caption-lang de --caption-lang en, or --caption-lang de,en."""
    if not values:
        return None
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def _expand(ingested: IngestResult, settings: Settings) -> ExpandResult:
    """Playlists, channels and feeds become their items now, so the user sees them first."""
    if not service.inputs.needs_expansion(ingested.items):
        return service.inputs.expand(ingested.items, settings)
    with console.status("Expanding playlists, channels and feeds…"):
        expanded = service.inputs.expand(ingested.items, settings)
    if expanded.expansions:
        table = Table("link", "kind", "title", "found", "kept", "notes", title="Expanded")
        for found in expanded.expansions:
            table.add_row(
                shown(found.source[:60]),
                found.kind,
                shown((found.title or "")[:40]),
                str(found.found),
                str(found.kept),
                ", ".join(found.notes),
            )
        console.print(table)
    if expanded.invalid:
        table = Table("where", "entry", "problem", title="Could not expand")
        for entry in expanded.invalid:
            table.add_row(shown(entry.origin), shown(entry.value[:60]), shown(entry.reason))
        errors.print(table)
    if expanded.expansions or expanded.duplicates_merged:
        console.print(f"{counted(len(expanded.items), 'item')} to transcribe after expansion.")
    return expanded


def _report_archived(store: Store, session: Session) -> None:
    skipped = store.counts(session.id).skipped
    if skipped:
        console.print(
            f"{counted(skipped, 'item')} already transcribed in earlier sessions: skipped and "
            "linked (--force transcribes them again)."
        )


register_research_commands(app)  # search (find videos) and find (search transcripts)
register_follow_commands(app)  # follow, follows, unfollow, update
register_ask_command(app)  # ask (answers from the transcripts)
register_summarize_command(app)  # summarize (a session's missing summaries)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    degrade_unprintable_output()
    try:
        app()
    except SystemExit as exit_:
        _exit(exit_.code)
    except TranscribeError as exc:  # a database that is damaged, full or read-only, …
        errors.print(f"[bold red]error:[/] {shown(exc.message)}", highlight=False)
        _exit(EXIT_USAGE)
    except OSError as exc:  # a folder that cannot be written, …
        errors.print(f"[bold red]error:[/] {shown(_describe_os_error(exc))}", highlight=False)
        _exit(EXIT_USAGE)


def _describe_os_error(exc: OSError) -> str:
    if is_disk_full(exc):
        return disk_full(f"writing {exc.filename or 'to disk'}").message
    where = f" {exc.filename}" if exc.filename else ""
    return (
        f"cannot write{where}: {exc.strerror or exc}; choose a folder you can write to "
        "with --out (finished work in the session is kept; resume it from there)"
    )


def _exit(code: int | str | None) -> None:
    """Exit now, even when a worker is stuck in a call that never returns.

    Python joins non-daemon threads at exit, and the threads of every concurrent.futures
    pool, daemon or not (a library's upload pool, say). The session is saved by now, so
    nothing is lost by not waiting for them.
    """
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    deadline = time.monotonic() + 2.0
    for thread in others:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in others):
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code if isinstance(code, int) else (0 if code is None else 1))
    raise SystemExit(code)
