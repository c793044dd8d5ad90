"""`bulk-transcribe run | resume | stop | cancel | status | sessions | export | ui`."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bulk_transcribe.engines import Engine, load_local_engine_early
from bulk_transcribe.errors import TranscribeError, disk_full, is_disk_full
from bulk_transcribe.models import ItemStatus, Session, SessionCounts
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store

# The runner, sources, outputs and ingest stack (about a third of a second of imports) load
# inside the commands that use them: `run` starts loading the speech model first, so the
# two overlap, and `status`, `stop` or `--help` answer sooner.
if TYPE_CHECKING:
    from bulk_transcribe.ingest import IngestResult
    from bulk_transcribe.ingest.expand import ExpandResult
    from bulk_transcribe.runner import Runner

from .cache import cache
from .progress import (
    degrade_unprintable_output,
    describe_metrics,
    format_minutes,
    shown,
    watch,
)
from .research import register as register_research_commands

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
PROBLEM_ROWS = 20  # failed items listed at the end of a big run; the rest are in items.csv
BIG_SESSION_ITEMS = 30  # past this many, a run's summary and `status` list only problems
# After SIGTERM/SIGHUP, running items get this long to finish before they are put back in
# the queue: service managers and `timeout` send SIGKILL soon after (Docker: 10 s).
TERMINATE_GRACE_SECONDS = 5.0

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn lists of videos, podcasts and local media into organised transcripts.",
)
console = Console()
errors = Console(stderr=True)
app.command()(cache)

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output folder.")]
DbOption = Annotated[
    Path | None, typer.Option("--db", help="SQLite file (default: OUT/bulk_transcribe.db).")
]
ExecutorOption = Annotated[
    str | None,
    typer.Option(help="Where items run: threads (this process) or ray (a Ray cluster)."),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(help="Ray cluster to join, e.g. 10.0.0.5:6379 (default: a local instance)."),
]


def _usage_error(message: str) -> typer.Exit:
    # Escaped and scrubbed: a message may quote brackets (paths, `pip install 'pkg[extra]'`)
    # that are not markup, and links with credentials.
    errors.print(f"[bold red]error:[/] {shown(message)}", highlight=False)
    return typer.Exit(EXIT_USAGE)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise _usage_error(_describe_validation(exc)) from exc


def _describe_validation(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
    )


def _refuse_if_running(store: Store, session: Session) -> None:
    from bulk_transcribe import service
    from bulk_transcribe.runner import SessionBusy

    owner = service.liveness(store, session.id)
    if owner is not None:
        raise _usage_error(str(SessionBusy(session.id, owner)))


def _open_store(out: Path, db: Path | None) -> Store:
    path = db or out / "bulk_transcribe.db"
    if not path.exists():
        raise _usage_error(f"no sessions found: {path} does not exist (use --out or --db)")
    return Store(path)


def _find_session(store: Store, session_id: str) -> Session:
    session = store.find_session(session_id)
    if session is None:
        raise _usage_error(
            f"no session matches {session_id!r}; `bulk-transcribe sessions` lists them"
        )
    return session


@app.command()
def run(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Lists (.txt), sheets (.csv/.tsv/.xlsx), folders, media files, URLs or - (stdin)."
        ),
    ],
    out: OutOption = Path("output"),
    db: DbOption = None,
    formats: Annotated[
        str | None, typer.Option("--format", "-f", help="Comma-separated: md,srt,vtt,json,txt.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Whisper model name or folder (default: bundled tiny.en).")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Language code, or 'auto' to detect.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", help="Items at once, 1-10 (1: sequential).")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="Speech-to-text engine.")] = None,
    provider: Annotated[
        str | None,
        typer.Option(help="Cloud preset: openai, groq, deapi, speaches, localai or custom."),
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option(help="Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1."),
    ] = None,
    rpm: Annotated[
        int | None,
        typer.Option(help="Provider requests per minute (default: the provider's preset)."),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="Worksheet of an .xlsx (default: first).")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="Map a column, e.g. --column url=Link (url, title, description)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="At most N videos from each playlist or channel.")
    ] = None,
    latest: Annotated[
        int | None, typer.Option(help="Only the newest N episodes of each podcast feed.")
    ] = None,
    date_after: Annotated[
        str | None,
        typer.Option(help="Only videos/episodes published on or after, e.g. 2024-01-31."),
    ] = None,
    date_before: Annotated[
        str | None, typer.Option(help="Only videos/episodes published on or before this day.")
    ] = None,
    captions: Annotated[
        bool | None,
        typer.Option(
            "--captions/--no-captions", help="Use YouTube captions when a video has them."
        ),
    ] = None,
    caption_lang: Annotated[
        list[str] | None,
        typer.Option(help="Preferred caption language(s), in order (default: video's, then en)."),
    ] = None,
    cookies: Annotated[
        Path | None, typer.Option(help="cookies.txt (Netscape format) for YouTube sign-in.")
    ] = None,
    proxy: Annotated[str | None, typer.Option(help="Proxy URL for YouTube requests.")] = None,
    force: Annotated[
        bool, typer.Option(help="Transcribe again what earlier sessions already did.")
    ] = False,
    speakers: Annotated[
        str | None,
        typer.Option(help="Label speakers: auto or their number (needs the speakers extra)."),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="Local model on cpu (default), cuda, or auto.")
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
            help="Let links reach private and link-local network addresses (LAN servers)."
        ),
    ] = False,
) -> None:
    """Transcribe everything in INPUTS into a new session folder."""
    settings = _settings(
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
        device=device,
        prompt=prompt,
        hotwords=hotwords,
        executor=executor,
        ray_address=ray_address,
        allow_private_addresses=allow_private_addresses or None,
    )
    # First of all, so the model loads while the rest of the program is imported.
    with _closing(load_local_engine_early(settings)) as local_engine:
        from bulk_transcribe.ingest import load_inputs, parse_column_overrides
        from bulk_transcribe.runner import create_session

        _check_executor(settings)
        if settings.cookies_file and not settings.cookies_file.is_file():
            raise _usage_error(f"--cookies {settings.cookies_file}: no such file")
        try:
            ingested = load_inputs(
                inputs,
                sheet=sheet,
                column_map=parse_column_overrides(column or []),
                stdin=sys.stdin,
            )
        except TranscribeError as exc:
            raise _usage_error(exc.message) from exc
        _report_ingest(ingested)
        if not ingested.items:
            raise _usage_error("nothing to transcribe: no valid entries in the input")
        expanded = _expand(ingested, settings)
        if not expanded.items:
            raise _usage_error("nothing to transcribe: the playlists and feeds gave no items")

        cloud_engine = _cloud_engine(settings)
        with Store(settings.database) as store:
            invalid = [*ingested.invalid, *expanded.invalid]
            notes = [("invalid_input", f"{e.origin}: {e.reason}: {e.value}") for e in invalid]
            session = create_session(store, settings, expanded.items, notes)
            _report_archived(store, session)
            console.print(f"Session [bold]{session.id}[/] → {session.folder}", highlight=False)
            _cloud_preflight(cloud_engine, store, session)
            counts = _run_and_watch(store, session, settings, local_engine)
    raise typer.Exit(_exit_code(counts))


@app.command()
def resume(
    session_id: Annotated[str, typer.Argument(help="Session id, a unique prefix, or 'latest'.")],
    out: OutOption = Path("output"),
    db: DbOption = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", help="Items at once, 1-10.")
    ] = None,
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
    from bulk_transcribe import service

    with _open_store(out, db) as store:
        session = _find_session(store, session_id)
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
            raise _usage_error(_describe_validation(exc)) from exc
        except TranscribeError as exc:
            raise _usage_error(exc.message) from exc
        with _closing(load_local_engine_early(settings)) as local_engine:
            _check_executor(settings)
            if retry_failed:
                requeued = service.retry_failed(store, session.id)
                console.print(f"Re-queued {requeued} failed item(s).")
            console.print(f"Resuming [bold]{session.id}[/] → {session.folder}", highlight=False)
            counts = _run_and_watch(store, session, settings, local_engine)
    raise typer.Exit(_exit_code(counts))


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
    from bulk_transcribe import service

    with _open_store(out, db) as store:
        session = _find_session(store, session_id)
        counts = store.counts(session.id)
        console.print(
            f"Session [bold]{session.id}[/] ({session.status.value}) → {session.folder}",
            highlight=False,
        )
        owner = service.liveness(store, session.id)
        if owner is not None:
            console.print(f"Being processed by pid {owner.pid} on host {owner.host}.")
        big = counts.total > BIG_SESSION_ITEMS and not all_items
        _print_items(store, session.id, only_problems=big)
        _print_counts(counts)
        if big:
            console.print(
                f"{counts.total} items: only those not done are listed; --all lists every one.",
                highlight=False,
            )


@app.command()
def stop(
    session_id: Annotated[str, typer.Argument(help="Session id, a unique prefix, or 'latest'.")],
    out: OutOption = Path("output"),
    db: DbOption = None,
) -> None:
    """Ask a running session to finish its running items and start nothing new."""
    from bulk_transcribe import service

    _send(session_id, out, db, service.request_stop, "stop after its running items")


@app.command()
def cancel(
    session_id: Annotated[str, typer.Argument(help="Session id, a unique prefix, or 'latest'.")],
    out: OutOption = Path("output"),
    db: DbOption = None,
) -> None:
    """Ask a running session to abort its running items now (it stays resumable)."""
    from bulk_transcribe import service

    _send(session_id, out, db, service.request_cancel, "cancel its running items")


def _send(session_id: str, out: Path, db: Path | None, command, what: str) -> None:
    with _open_store(out, db) as store:
        session = _find_session(store, session_id)
        owner = command(store, session.id)
        if owner is None:
            raise _usage_error(
                f"session {session.id} is not running ({session.status.value}); "
                f"`bulk-transcribe resume {session.id}` continues it"
            )
        console.print(
            f"Asked pid {owner.pid} on host {owner.host} to {what} (session {session.id}).",
            highlight=False,
        )


@app.command()
def export(
    session_id: Annotated[str, typer.Argument(help="Session id, a unique prefix, or 'latest'.")],
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
) -> None:
    """Write a session's transcripts again from the store (a deleted folder is no loss)."""
    from bulk_transcribe import service

    with _open_store(out, db) as store:
        session = _find_session(store, session_id)
        chosen = _settings(formats=formats).formats if formats else None
        result = service.export_session(store, session.id, formats=chosen, to=to)
    console.print(f"Wrote {result.written} item(s) to {result.folder}", highlight=False)
    if result.missing:
        errors.print(
            f"[yellow]warning:[/] {len(result.missing)} item(s) finished before transcripts "
            "were kept in the store; their files cannot be written again: "
            + shown(", ".join(result.missing[:5])),
            highlight=False,
        )
        raise typer.Exit(EXIT_SOME_FAILED)


@app.command()
def sessions(out: OutOption = Path("output"), db: DbOption = None) -> None:
    """List sessions, newest first."""
    with _open_store(out, db) as store:
        table = Table("session", "status", "items", "done", "failed", "queued", "audio min")
        for session in store.list_sessions():
            counts = store.counts(session.id)
            table.add_row(
                session.id,
                session.status.value,
                str(counts.total),
                str(counts.done),
                str(counts.failed),
                str(counts.queued + counts.running),
                format_minutes(counts.audio_seconds_total),
            )
        console.print(table)


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port to serve the web app on.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind; 127.0.0.1 keeps it on this computer.")
    ] = "127.0.0.1",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default: ./output).")
    ] = None,
) -> None:
    """Open the web app (Streamlit) at http://HOST:PORT."""
    from bulk_transcribe.web.launch import serve  # Streamlit loads only for this command

    try:
        raise typer.Exit(serve(host, port, out))
    except TranscribeError as exc:
        raise _usage_error(exc.message) from exc


def _check_executor(settings: Settings) -> None:
    from bulk_transcribe.runner.executors import check_executor

    try:
        check_executor(settings)
    except TranscribeError as exc:
        raise _usage_error(exc.message) from exc


@contextmanager
def _closing(engine: Engine | None) -> Iterator[Engine | None]:
    try:
        yield engine
    finally:
        if engine is not None:
            engine.close()


def _run_and_watch(
    store: Store, session: Session, settings: Settings, engine: Engine | None = None
) -> SessionCounts:
    """Run the session here with a live view; `engine` is the run's (already loading)
    engine, or None for the runner to create its own."""
    from bulk_transcribe.runner import Runner
    from bulk_transcribe.runner.executors import create_executor

    if settings.executor == "ray":
        where = settings.ray_address or "a local instance"
        console.print(f"Starting Ray workers on {where}…", highlight=False)
    try:
        executor = create_executor(settings)
    except TranscribeError as exc:
        raise _usage_error(exc.message) from exc
    try:
        runner = Runner(store, session.id, settings, engine=engine, executor=executor)
        with _stop_on_termination(runner):
            counts = _watch_runner(runner, store, session)
    finally:
        if executor is not None:
            executor.close()
    return counts


@contextmanager
def _stop_on_termination(runner: Runner) -> Iterator[None]:
    """SIGTERM and SIGHUP stop the run like a first Ctrl-C; items still running after a
    short grace go back to the queue, so the process ends within seconds, resumable."""

    def terminate(signum: int, _frame: object) -> None:
        errors.print(
            f"{signal.Signals(signum).name}: stopping; running items that do not finish in "
            f"{TERMINATE_GRACE_SECONDS:.0f} s go back to the queue."
        )
        runner.request_stop()
        timer = threading.Timer(TERMINATE_GRACE_SECONDS, runner.request_cancel)
        timer.daemon = True
        timer.start()

    handled = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (e.g. under a test runner's thread)
        return
    previous = {sig: signal.signal(sig, terminate) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch_runner(runner: Runner, store: Store, session: Session) -> SessionCounts:
    from bulk_transcribe.runner import SessionBusy

    outcome: dict[str, BaseException] = {}
    finished = threading.Event()

    def work() -> None:
        try:
            runner.run()
        except BaseException as exc:  # shown after the live view closes
            outcome["error"] = exc
        finally:
            finished.set()

    def on_interrupt(times: int) -> None:
        if times == 1:
            errors.print("Stopping after the running items… (Ctrl-C again to cancel them)")
            runner.request_stop()
        else:
            errors.print("Cancelling running items; the session stays resumable.")
            runner.request_cancel()

    worker = threading.Thread(target=work, name="runner")
    worker.start()
    watch(console, store, session.id, finished, on_interrupt)
    worker.join()
    if isinstance(outcome.get("error"), SessionBusy):
        raise _usage_error(str(outcome["error"]))
    if "error" in outcome:
        raise outcome["error"]
    counts = store.counts(session.id)
    _print_items(store, session.id, only_problems=counts.total > BIG_SESSION_ITEMS)
    _print_counts(counts)
    console.print(describe_metrics(store.metrics(session.id)), highlight=False)
    final = store.get_session(session.id)
    console.print(f"Session folder: {session.folder}", highlight=False)
    if counts.queued or counts.running:
        console.print(
            f"Session {final.status.value}. Resume with: bulk-transcribe resume {session.id}"
            + (f" --out {session.out_dir}" if session.out_dir != Path("output") else ""),
            highlight=False,
        )
    return counts


def _cloud_engine(settings: Settings) -> Engine | None:
    """A cloud engine built up front, so a missing key or unknown preset stops the run early."""
    if settings.engine == "local":
        return None
    from bulk_transcribe.engines import create_engine
    from bulk_transcribe.runner.ratelimit import RateLimitHook

    try:
        # The preflight's requests (balance, price) count against the provider's budget too.
        return create_engine(settings, RateLimitHook.for_settings(settings))
    except TranscribeError as exc:
        raise _usage_error(exc.message) from exc


def _cloud_preflight(engine: Engine | None, store: Store, session: Session) -> None:
    """Balance and price estimate, where the provider offers them, before anything is spent."""
    if engine is None:
        return
    try:
        for line in engine.preflight(store.counts(session.id).audio_seconds_total or None):
            console.print(line, highlight=False)
    except TranscribeError as exc:
        if not exc.transient:
            raise _usage_error(f"{exc.message} (session {session.id} kept; resume later)") from exc
        errors.print(f"[yellow]warning:[/] {shown(exc.message)}", highlight=False)
    finally:
        engine.close()


def _exit_code(counts: SessionCounts) -> int:
    return EXIT_OK if counts.done + counts.skipped == counts.total else EXIT_SOME_FAILED


def _report_ingest(ingested: IngestResult) -> None:
    console.print(f"{len(ingested.items)} item(s) to transcribe.")
    if ingested.duplicates_merged:
        console.print(f"Merged {ingested.duplicates_merged} duplicate(s).")
    for warning in ingested.warnings:
        errors.print(f"[yellow]warning:[/] {shown(warning)}", highlight=False)
    if ingested.invalid:
        table = Table("where", "entry", "problem", title="Skipped invalid entries")
        for entry in ingested.invalid[:PROBLEM_ROWS]:
            table.add_row(shown(entry.origin), shown(entry.value[:60]), shown(entry.reason))
        errors.print(table)
        _more(errors, len(ingested.invalid), "invalid entries", "the session's events")


def _split_languages(values: list[str] | None) -> tuple[str, ...] | None:
    """--caption-lang de --caption-lang en, or --caption-lang de,en."""
    if not values:
        return None
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def _expand(ingested: IngestResult, settings: Settings) -> ExpandResult:
    """Playlists, channels and feeds become their items now, so the user sees them first."""
    from bulk_transcribe.ingest.expand import ExpandResult, expand_items

    needs_network = any(spec.source_type.is_remote for spec in ingested.items)
    if not needs_network:
        return ExpandResult(items=list(ingested.items))
    with console.status("Expanding playlists, channels and feeds…"):
        expanded = expand_items(ingested.items, settings)
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
        console.print(f"{len(expanded.items)} item(s) to transcribe after expansion.")
    return expanded


def _report_archived(store: Store, session: Session) -> None:
    skipped = store.counts(session.id).skipped
    if skipped:
        console.print(
            f"{skipped} item(s) already transcribed in earlier sessions: skipped and linked "
            "(--force transcribes them again)."
        )


def _print_items(store: Store, session_id: str, only_problems: bool = False) -> None:
    items = store.items(session_id)
    if only_problems:
        items = [i for i in items if i.status is not ItemStatus.DONE]
        if not items:
            return
    table = Table("#", "title", "status", "audio", "method", "problem")
    for item in items[:PROBLEM_ROWS] if only_problems else items:
        colour = {"done": "green", "failed": "red"}.get(item.status.value, "yellow")
        table.add_row(
            str(item.position),
            shown(item.display_title[:50]),
            f"[{colour}]{item.status.value}[/]",
            f"{item.duration:.0f} s" if item.duration else "",
            item.method or "",
            shown(f"{item.error_kind}: {item.error_message}") if item.error_message else "",
        )
    console.print(table)
    if only_problems:
        _more(console, len(items), "items not done", "items.csv in the session folder")


def _more(where: Console, count: int, what: str, see: str) -> None:
    if count > PROBLEM_ROWS:
        where.print(f"… and {count - PROBLEM_ROWS} more {what}: see {see}.", highlight=False)


def _print_counts(counts: SessionCounts) -> None:
    console.print(
        f"{counts.done} done, {counts.failed} failed, {counts.skipped} skipped, "
        f"{counts.queued + counts.running} remaining of {counts.total}; "
        f"{format_minutes(counts.audio_seconds_transcribed)} audio minutes transcribed."
    )


register_research_commands(app)  # search (find videos) and find (search transcripts)


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
