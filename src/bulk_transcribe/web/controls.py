"""The Run controls: Stop, Cancel, Resume and Retry failed, all through the store or job manager."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from bulk_transcribe.ingest import IngestResult
from bulk_transcribe.ingest.expand import expand_items
from bulk_transcribe.models import Item, Session, SessionCommand, SessionStatus
from bulk_transcribe.runner import create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.web.formatting import parse_time
from bulk_transcribe.web.jobs import JobManager
from bulk_transcribe.web.settings_panel import secrets, settings_for_session

# A session marked running that nobody has touched for this long was left by a crash.
ABANDONED_AFTER_SECONDS = 180
STATUS_BADGES = {
    SessionStatus.CREATED: (":material/fiber_new:", "created"),
    SessionStatus.RUNNING: (":material/sync:", "running"),
    SessionStatus.STOPPED: (":material/pause_circle:", "stopped: resumable"),
    SessionStatus.CANCELLED: (":material/stop_circle:", "cancelled: resumable"),
    SessionStatus.COMPLETED: (":material/check_circle:", "completed"),
}


@dataclass(frozen=True)
class RunState:
    running_here: bool  # a runner of this process works on it
    active: bool  # someone (here, the CLI, another server) is working on it
    stop_requested: bool


def run_state(
    session: Session, items: list[Item], jobs: JobManager, now: datetime | None = None
) -> RunState:
    here = jobs.is_running(session.id)
    touched = [parse_time(session.updated_at), *(parse_time(i.updated_at) for i in items)]
    latest = max((t for t in touched if t), default=None)
    recent = (
        latest is not None
        and ((now or datetime.now(UTC)) - latest).total_seconds() < ABANDONED_AFTER_SECONDS
    )
    active = here or (session.status is SessionStatus.RUNNING and recent)
    return RunState(
        running_here=here,
        active=active,
        stop_requested=session.command is not None,
    )


def resume_settings(store: Store, session: Session, base: Settings) -> Settings:
    return settings_for_session(
        session.settings,
        base,
        out_dir=session.out_dir,
        db_path=store.path,
        requested_concurrency=store.requested_concurrency(session.id),
        secrets=secrets(),
    )


def stop(store: Store, session_id: str) -> None:
    store.send_command(session_id, SessionCommand.STOP)
    st.toast("Stopping: running items finish, nothing new starts.", icon=":material/pause:")


def cancel(store: Store, session_id: str) -> None:
    store.send_command(session_id, SessionCommand.CANCEL)
    st.toast("Cancelling: running items are aborted and stay resumable.", icon=":material/stop:")


def resume(store: Store, jobs: JobManager, session_id: str, base: Settings) -> None:
    settings = _settings_for(store, session_id, base, "resume")
    if settings is not None and jobs.start(session_id, settings):
        st.toast("Resumed.", icon=":material/play_arrow:")


def retry_failed(store: Store, jobs: JobManager, session_id: str, base: Settings) -> None:
    settings = _settings_for(store, session_id, base, "retry")
    if settings is None:
        return
    count = jobs.retry_failed(session_id, settings)
    st.toast(f"Re-queued {count} failed item(s).", icon=":material/replay:")


def render_status_line(session: Session, state: RunState) -> None:
    icon, label = STATUS_BADGES[session.status]
    if state.active and not state.running_here:
        label += " in another process (e.g. the CLI)"
    if state.active and state.stop_requested:
        label += f" · {session.command.value} requested" if session.command else ""
    st.markdown(f"#### {icon} Session `{session.id}` · {label}")
    st.caption(f"Folder: `{session.folder}`")


def render_controls(
    store: Store,
    jobs: JobManager,
    session: Session,
    state: RunState,
    failed: int,
    base: Settings,
) -> None:
    stop_col, cancel_col, resume_col, retry_col, _ = st.columns([1, 1, 1, 1.2, 2])
    sid = session.id
    stop_col.button(
        "Stop",
        icon=":material/pause:",
        key="control-stop",
        disabled=not state.active or state.stop_requested,
        on_click=stop,
        args=(store, sid),
        help="Finish the items already running, start nothing new.",
        width="stretch",
    )
    cancel_col.button(
        "Cancel",
        icon=":material/stop:",
        key="control-cancel",
        disabled=not state.active,
        on_click=cancel,
        args=(store, sid),
        help="Abort now; unfinished items stay in the queue for a later resume.",
        width="stretch",
    )
    resumable = session.status is not SessionStatus.COMPLETED or failed
    resume_col.button(
        "Resume",
        icon=":material/play_arrow:",
        key="control-resume",
        disabled=state.active or not resumable,
        on_click=resume,
        args=(store, jobs, sid, base),
        help="Carry on with the items not finished yet.",
        width="stretch",
    )
    retry_col.button(
        f"Retry failed ({failed})",
        icon=":material/replay:",
        key="control-retry",
        disabled=state.active or not failed,
        on_click=retry_failed,
        args=(store, jobs, sid, base),
        help="Re-queue only the failed items and run them again.",
        width="stretch",
    )


def _settings_for(store: Store, session_id: str, base: Settings, verb: str) -> Settings | None:
    """The session's own settings for running it again, or None after telling the user why."""
    try:
        return resume_settings(store, store.get_session(session_id), base)
    except ValueError as exc:
        st.toast(f"Cannot {verb}: {exc}", icon=":material/block:")
        return None


def start_new_session(
    store: Store,
    jobs: JobManager,
    settings: Settings,
    ingested: IngestResult,
) -> Session:
    """Expand playlists, channels and feeds, store the session with its items and invalid
    entries, then run it in the background."""
    specs = list(ingested.items)
    invalid = list(ingested.invalid)
    notes: list[tuple[str, str]] = []
    if any(spec.source_type.is_remote for spec in specs):
        expanded = expand_items(specs, settings)  # listing only: a few requests per collection
        specs, invalid = expanded.items, invalid + expanded.invalid
        notes += [
            ("expanded", f"{e.kind} {e.title or e.source}: {e.kept} of {e.found} item(s) kept")
            for e in expanded.expansions
        ]
    notes += [("invalid_input", f"{e.origin}: {e.reason}: {e.value}") for e in invalid]
    session = create_session(store, settings, specs, notes)
    jobs.start(session.id, settings)
    return session


def request_concurrency_change(
    store: Store, session_id: str, parallel: bool, concurrency: int
) -> None:
    """Ask a running session to change how many items it runs at once, effective at once."""
    wanted = concurrency if parallel else 1
    store.request_concurrency(session_id, wanted)
    message = (
        f"concurrency set to {wanted} from the web app"
        if parallel
        else "parallel processing turned off from the web app: one item at a time from now on"
    )
    store.add_event(session_id, "concurrency", message)


_SEEN_CHOICE_KEY = "parallel_choice_seen"


def follow_parallel_choice(store: Store, session_id: str, active: bool) -> None:
    """Pass a change of the parallel toggle or slider on to the watched, running session.

    Checked on every redraw of the monitor rather than in the widgets' on_change: a change
    that reaches the server during a fragment's rerun would not run the callback, and the
    toggle must take effect whatever the timing. Only changes made while this tab watches
    count: opening a tab never changes a session started with other settings.
    """
    if "pref_parallel" not in st.session_state:
        return
    parallel = bool(st.session_state["pref_parallel"])
    concurrency = int(st.session_state.get("pref_concurrency", 1))
    wanted = concurrency if parallel else 1
    seen: dict[str, int] = st.session_state.setdefault(_SEEN_CHOICE_KEY, {})
    previous = seen.get(session_id)
    seen[session_id] = wanted
    if active and previous is not None and previous != wanted:
        request_concurrency_change(store, session_id, parallel, concurrency)
