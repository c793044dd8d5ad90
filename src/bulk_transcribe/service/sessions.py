"""Sessions: start, run, resume, stop, cancel, retry, export and launch, written once for the
CLI and the web app alike."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bulk_transcribe import redact
from bulk_transcribe.engines import Engine
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.links import RealLinks, handed_over, received_links
from bulk_transcribe.models import (
    ItemSpec,
    ItemStatus,
    Owner,
    Session,
    SessionCommand,
    SessionCounts,
)
from bulk_transcribe.outputs import write_transcript_files
from bulk_transcribe.outputs.atomic import remove_abandoned_temps
from bulk_transcribe.outputs.summary_note import NoteEdited, write_summarised_note
from bulk_transcribe.plurals import counted

# Runner, SessionBusy, create_session and is_alive are part of the service's names
# (service/__init__.py lists them all).
from bulk_transcribe.runner import Runner as Runner
from bulk_transcribe.runner import SessionBusy as SessionBusy
from bulk_transcribe.runner import create_session, write_outputs_index
from bulk_transcribe.runner import session_links as session_links
from bulk_transcribe.runner.executors import Executor, create_executor
from bulk_transcribe.runner.summaries import SummarizeResult as SummarizeResult
from bulk_transcribe.runner.summaries import check_summary_settings as check_summary_settings
from bulk_transcribe.runner.summaries import summarize_session as summarize_session
from bulk_transcribe.service.inputs import Expansion, InvalidEntry
from bulk_transcribe.service.keys import KEY_FIELDS, endpoint_settings, job_environment
from bulk_transcribe.service.owners import is_alive as is_alive
from bulk_transcribe.service.owners import liveness as liveness
from bulk_transcribe.service.providers import check_local_model, check_speaker_labels
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.store.summaries import Summaries

# Stored settings that describe where a session lives, not how it runs: a resume takes
# them from the store it was opened with.
_LOCATION_KEYS = ("out_dir", "db_path")
LAUNCH_WAIT_SECONDS = 30.0
# Settings that are URLs and may carry a password, stored scrubbed (see redact.py).
_URLS_WITH_PASSWORDS = {
    "proxy": "proxy URL",
    "api_base": "API base URL",
    "deapi_base_url": "DEAPI base URL",
}


def resume_settings(store: Store, session: Session, **overrides: Any) -> Settings:
    """The settings a session was started with, for running it again.

    Secrets were never stored: API keys come from the environment as always, and a proxy
    whose password was redacted must be given again (BULK_TRANSCRIBE_PROXY). `overrides`
    left None keep the stored value.
    """
    stored = {k: v for k, v in session.settings.items() if k not in _LOCATION_KEYS}
    for name, label in _URLS_WITH_PASSWORDS.items():
        url = stored.pop(name, None)
        if url and redact.is_redacted(url):
            url = getattr(Settings(), name)  # from the environment or .env, never the store
            if not url:
                raise PermanentError(
                    ErrorKind.INVALID_INPUT,
                    f"this session used a {label} with a password, which is never stored; set "
                    f"BULK_TRANSCRIBE_{name.upper()} to the {label} with its password, then "
                    "resume again",
                )
        stored[name] = url
    values = {**stored, **{k: v for k, v in overrides.items() if v is not None}}
    settings = Settings(**values, out_dir=session.out_dir, db_path=store.path)
    check_speaker_labels(settings)
    return settings


def run_session(
    store: Store,
    session_id: str,
    settings: Settings,
    *,
    engine: Engine | None = None,
    executor: Executor | None = None,
    links: RealLinks | None = None,
) -> SessionCounts:
    """Run (or resume) a session here, to its end or a stop; raises SessionBusy when another
    live process runs it. `links`: the real links of items stored scrubbed (links.py)."""
    return Runner(store, session_id, settings, engine=engine, executor=executor, links=links).run()


def handed_links() -> dict[str, str]:
    """The real links the process that started this job handed over (links.py)."""
    return received_links()


def start_session(
    store: Store,
    settings: Settings,
    specs: Sequence[ItemSpec],
    *,
    invalid: Sequence[InvalidEntry] = (),
    expansions: Sequence[Expansion] = (),
) -> Session:
    """Store a new session with its items (already read and expanded: see service.inputs),
    keeping what expansion did and every invalid entry in its log. Nothing runs yet.
    Settings this machine cannot run (a voice encoder not installed, a model folder that is
    not there) store nothing."""
    check_speaker_labels(settings)
    check_local_model(settings)
    notes = [
        (
            "expanded",
            f"{e.kind} {e.title or e.source}: {e.kept:,} of {counted(e.found, 'item')} kept",
        )
        for e in expansions
    ]
    notes += [("invalid_input", f"{e.origin}: {e.reason}: {e.value}") for e in invalid]
    return create_session(store, settings, specs, notes)


@contextmanager
def open_run(
    store: Store,
    session_id: str,
    settings: Settings,
    *,
    engine: Engine | None = None,
    links: RealLinks | None = None,
) -> Iterator[Runner]:
    """A runner for the session in this process, with the executor its settings ask for
    (threads, or Ray workers), closed on the way out. The caller runs it (`run()`), and may
    ask it to stop or cancel from another thread. `links`: the real links of items stored
    scrubbed (links.py). Raises TranscribeError when the executor cannot start (Ray missing
    or unreachable)."""
    executor = create_executor(settings)
    try:
        yield Runner(store, session_id, settings, engine=engine, executor=executor, links=links)
    finally:
        if executor is not None:
            executor.close()


def request_stop(store: Store, session_id: str) -> Owner | None:
    """Ask the session's owner to finish what runs and start nothing new; returns the owner
    asked, or None when nobody runs it (then nothing is asked)."""
    return _command(store, session_id, SessionCommand.STOP)


def request_cancel(store: Store, session_id: str) -> Owner | None:
    """Ask the session's owner to abort what runs now (it stays resumable)."""
    return _command(store, session_id, SessionCommand.CANCEL)


def _command(store: Store, session_id: str, command: SessionCommand) -> Owner | None:
    owner = liveness(store, session_id)
    if owner is not None:
        store.send_command(session_id, command)
    return owner


def retry_failed(store: Store, session_id: str, item_ids: list[int] | None = None) -> int:
    """Put every failed item (or these of them) back in the queue; returns how many. Run the
    session after."""
    requeued = store.requeue_failed(session_id, item_ids=item_ids)
    if requeued:
        store.add_event(session_id, "retry", f"{counted(requeued, 'failed item')} re-queued")
    return requeued


def resume_with_changes(store: Store, session_id: str, changes: Mapping[str, Any]) -> int:
    """Let a session a model failure stopped go on with other settings (another model, the
    CPU, no speaker labels...): they become the session's own (every later resume uses them
    too) and the items that failed because a model could not be used are queued again;
    returns how many. Run the session after.

    Raises PermanentError, changing nothing, while someone runs the session, or when this
    machine cannot run those settings either (a model folder that is not there, a voice
    encoder not installed)."""
    if liveness(store, session_id) is not None:
        raise PermanentError(
            ErrorKind.INVALID_INPUT, "the session is running: stop it before changing it"
        )
    session = store.get_session(session_id)
    changed = replace(session, settings={**session.settings, **changes})
    check_local_model(resume_settings(store, changed))  # speaker labels are checked there
    before = {name: session.settings.get(name) for name in changes}
    store.update_session_settings(session_id, dict(changes))
    requeued = store.requeue_failed(session_id, kinds=[ErrorKind.MODEL])
    said = ", ".join(f"{name} {before[name]} → {value}" for name, value in changes.items())
    store.add_event(
        session_id,
        "settings",
        f"changed for the rest of the session: {said}; "
        f"{counted(requeued, 'item')} that failed with the old settings re-queued",
    )
    return requeued


def resume_with_model(store: Store, session_id: str, model: str) -> int:
    """`resume_with_changes` with another speech model."""
    model = model.strip()
    if not model:
        raise PermanentError(ErrorKind.INVALID_INPUT, "choose a model to resume with")
    return resume_with_changes(store, session_id, {"model": model})


def _job_environment() -> dict[str, str]:
    """This process's environment less the web app's sign-in secrets: a job needs none."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_UI_")}


def launch_detached(
    db_path: Path,
    session_id: str,
    *,
    concurrency: int | None = None,
    secrets: Mapping[str, str] | None = None,
    links: RealLinks | None = None,
    wait_seconds: float = LAUNCH_WAIT_SECONDS,
) -> int:
    """Run a session in a process of its own (`bulk-transcribe resume`), outliving the caller.

    Returns the new process's pid once it owns the session. `secrets` (API keys typed into
    the web app) reach it through its environment, never its command line or the store;
    `links` (the real links of items stored scrubbed, links.py) through a pipe. Raises
    PermanentError when the process ends before owning the session, with its words.
    """
    db_path = Path(db_path).resolve()
    with Store(db_path) as store:
        session = store.get_session(session_id)
        log_path = session.folder / "run.log"
    # A key typed in the browser is the job's, over the server's key variables; where the
    # server's keys may not go (a shared app, an address a visitor typed), none is passed.
    typed = {f: v for f in KEY_FIELDS if (v := (secrets or {}).get(f"BULK_TRANSCRIBE_{f.upper()}"))}
    environment = job_environment(_job_environment(), endpoint_settings(session.settings), typed)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "bulk_transcribe", "resume", session_id]
    command += ["--db", str(db_path), "--out", str(session.out_dir)]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    # Links with credentials are stored scrubbed; the real ones go over a pipe.
    handing = handed_over(links or {})
    with open(log_path, "ab") as log, handing as (link_env, link_fds):
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**environment, **link_env, **(secrets or {})},
            pass_fds=link_fds,
            start_new_session=True,  # a Ctrl-C or a restart of the caller does not reach it
        )
    # Reap it when it ends, so it never lingers as a zombie that looks alive.
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    deadline = time.monotonic() + wait_seconds
    with Store(db_path) as store:
        while time.monotonic() < deadline:
            owner = store.get_session(session_id).owner
            if owner is not None and owner.pid == process.pid:
                return process.pid
            if process.poll() is not None:
                break
            time.sleep(0.1)
    if process.poll() is None:
        return process.pid  # slow to start, but alive: it will claim the session
    said = _tail(log_path)
    raise PermanentError(
        ErrorKind.INTERNAL,
        f"the job process for session {session_id} ended at once"
        + (f": {said}" if said else "")
        + f" (its log: {log_path})",
    )


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " ".join(text.strip().splitlines()[-lines:])


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    written: int  # items whose files were written
    missing: list[str]  # finished items with no transcript in the store (made before v2)
    kept: list[Path] = field(default_factory=list)  # files edited since: left as they are


def export_session(
    store: Store,
    session_id: str,
    *,
    formats: tuple[str, ...] | None = None,
    to: Path | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Write a session's outputs again from the store: a deleted or moved session folder is
    never a loss. Into the session's own folder by default. A file that differs from what
    would be written (a note edited in Obsidian) is kept as it is, unless `overwrite`."""
    session = store.get_session(session_id)
    folder = Path(to).resolve() if to is not None else session.folder
    chosen = formats or tuple(session.settings.get("formats") or Settings().formats)
    written, missing, kept = 0, [], []
    remove_abandoned_temps(folder)  # left by a killed export or run: never an output
    summaries = Summaries(store)
    for item in store.items(session_id, [ItemStatus.DONE]):
        stored = store.transcript(item.id)
        if stored is None:
            missing.append(item.source)
            continue
        transcribed_at = datetime.fromisoformat(stored.transcribed_at)
        item_kept: list[Path] | None = None if overwrite else []
        outputs = write_transcript_files(
            folder,
            session_id=session_id,
            item=item,
            transcript=stored.transcript,
            transcribed_at=transcribed_at,
            formats=chosen,
            kept=item_kept,
        )
        summary = summaries.get(item.id)
        if summary is not None:  # the note carries its summary again
            try:
                note = write_summarised_note(
                    folder,
                    item=replace(item, outputs=outputs),
                    transcript=stored.transcript,
                    session_id=session_id,
                    transcribed_at=transcribed_at,
                    summary=summary,
                    overwrite=overwrite,
                )
            except NoteEdited:
                note = None
            if item_kept is not None and note in item_kept:  # it reads as written, summary in
                item_kept.remove(note)
        kept += item_kept or []
        written += 1
    write_outputs_index(store, session_id, folder=folder)
    return ExportResult(folder=folder, written=written, missing=missing, kept=kept)
