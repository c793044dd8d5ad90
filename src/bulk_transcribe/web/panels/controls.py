"""The Run controls: Stop, Cancel, Resume and the two Retries, all through the service."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from pydantic import SecretStr

from bulk_transcribe import service
from bulk_transcribe.errors import ErrorKind, ModelPart, TranscribeError, model_part_of
from bulk_transcribe.models import Item, ItemStatus, Session, SessionCounts, SessionStatus
from bulk_transcribe.plurals import counted
from bulk_transcribe.service.inputs import IngestResult
from bulk_transcribe.settings import DEFAULT_MODEL, Settings
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.cloud_setup import access_message
from bulk_transcribe.web.panels.settings_panel import LOCAL_MODELS, secrets
from bulk_transcribe.web.state import runs
from bulk_transcribe.web.state.runs import Runs
from bulk_transcribe.web.wording import is_retryable, model_label

STATUS_BADGES = {
    SessionStatus.CREATED: (":material/fiber_new:", "created"),
    SessionStatus.RUNNING: (":material/sync:", "running"),
    SessionStatus.STOPPED: (":material/pause_circle:", "stopped: resumable"),
    SessionStatus.CANCELLED: (":material/stop_circle:", "cancelled: resumable"),
    SessionStatus.COMPLETED: (":material/check_circle:", "completed"),
}
# What an interrupted session shows while nobody works on it.
_NOT_RUNNING = (":material/pause_circle:", "stopped: resumable")


@dataclass(frozen=True)
class RunState:
    active: bool  # someone (this server's job, the CLI, another server) works on it
    stop_requested: bool


def run_state(session: Session, runs: Runs) -> RunState:
    return RunState(active=runs.alive(session), stop_requested=session.command is not None)


def status_badge(session: Session, state: RunState, failed: int = 0) -> tuple[str, str]:
    """The session's status as a user should read it: "running" only while someone works,
    and "completed" only when nothing failed."""
    if session.status is SessionStatus.RUNNING and not state.active:
        return _NOT_RUNNING  # left by a crash or a killed process: resumable
    if session.status is SessionStatus.COMPLETED and failed:
        return (":material/error:", f"finished with {failed} failed")
    return STATUS_BADGES[session.status]


def retryable_failures(items: list[Item]) -> list[int]:
    """The failed items that may succeed when tried again as they are (network, time limits,
    busy servers), unlike bad links, undecodable media or refused keys."""
    return [
        item.id
        for item in items
        if item.status is ItemStatus.FAILED and is_retryable(item.error_kind, item.error_message)
    ]


def resume_settings(store: Store, session: Session) -> Settings:
    """The session's own settings (service.resume_settings), with any concurrency a view
    asked for since and the keys typed into this browser session."""
    typed = {name: SecretStr(value) for name, value in secrets().items() if value}
    settings = service.resume_settings(
        store, session, concurrency=store.requested_concurrency(session.id), **typed
    )
    return service.keys.visitor_keys_only(settings, secrets())


def stop(store: Store, session_id: str) -> None:
    if runs.stop(store, session_id):
        st.toast("Stopping: running items finish, nothing new starts.", icon=":material/pause:")
    else:
        st.toast("Nothing runs this session right now.", icon=":material/info:")


def cancel(store: Store, session_id: str) -> None:
    if runs.cancel(store, session_id):
        st.toast(
            "Cancelling: running items are aborted and stay resumable.", icon=":material/stop:"
        )
    else:
        st.toast("Nothing runs this session right now.", icon=":material/info:")


def resume(store: Store, jobs: Runs, session_id: str) -> None:
    counts = store.counts(session_id)
    left = counts.queued + counts.running
    if not left:
        st.toast("Nothing left to resume.", icon=":material/check_circle:")
        return
    settings = _settings_for(store, session_id, "resume")
    if settings is None:
        return
    try:
        started = jobs.start(session_id, settings)
    except TranscribeError as exc:
        st.toast(f"Could not resume: {exc.message}", icon=":material/block:")
        return
    if started:
        st.toast(f"Resumed: {counted(left, 'item')} to go.", icon=":material/play_arrow:")
    else:
        st.toast("Already running elsewhere.", icon=":material/sync:")


def retry_failed(
    store: Store, jobs: Runs, session_id: str, item_ids: list[int] | None = None
) -> None:
    settings = _settings_for(store, session_id, "retry")
    if settings is None:
        return
    try:
        count = jobs.retry_failed(session_id, settings, item_ids)
    except TranscribeError as exc:
        st.toast(f"Could not retry: {exc.message}", icon=":material/block:")
        return
    st.toast(f"Re-queued {counted(count, 'failed item')}.", icon=":material/replay:")


def render_status_line(session: Session, state: RunState, failed: int = 0) -> None:
    icon, label = status_badge(session, state, failed)
    if state.active and state.stop_requested and session.command:
        label += f" · {session.command.value} requested"
    st.markdown(f"#### {icon} Session `{session.id}` · {label}")
    st.caption(f"Folder: `{session.folder}`")


def render_controls(
    store: Store,
    jobs: Runs,
    session: Session,
    state: RunState,
    counts: SessionCounts,
    retryable: list[int] | None = None,
) -> None:
    # One row that wraps: in five fixed columns a small laptop's screen cut the labels (and
    # the Retry counts) to "Ca…", "Retry retr…".
    row = st.container(horizontal=True)
    retryable = retryable or []
    sid = session.id
    row.button(
        "Stop",
        icon=":material/pause:",
        key="control-stop",
        disabled=not state.active or state.stop_requested,
        on_click=stop,
        args=(store, sid),
        help="Finish the items already running, start nothing new.",
        width="content",
    )
    row.button(
        "Cancel",
        icon=":material/stop:",
        key="control-cancel",
        disabled=not state.active,
        on_click=cancel,
        args=(store, sid),
        help="Abort now; unfinished items stay in the queue for a later resume.",
        width="content",
    )
    left = counts.queued + counts.running
    model_failed = stopped_by_model_failure(store, sid, state, counts)
    row.button(
        "Resume",
        icon=":material/play_arrow:",
        key="control-resume",
        disabled=state.active or not left,
        on_click=resume,
        args=(store, jobs, sid),
        help=f"Carry on with the {counted(left, 'item')} not finished yet."
        if left
        else "Nothing left to do; the Retry buttons run failed items again.",
        width="content",
    )
    if model_failed:
        st.warning(
            "**The run stopped: a model every item needs could not be used** (the failed "
            "item says why). Resume uses this session's settings again: fix what the error "
            "names first, or go on with the change below; what this session finished is "
            "kept.",
            icon=":material/model_training:",
        )
        render_model_fix(store, jobs, session)
    row.button(
        f"Retry retryable ({len(retryable)})",
        icon=":material/replay:",
        key="control-retry",
        disabled=state.active or not retryable,
        on_click=retry_failed,
        args=(store, jobs, sid, retryable),
        help="Run again the items that failed for a passing reason (network, time limits, "
        "busy servers).",
        width="content",
    )
    row.button(
        f"Retry all failed ({counts.failed})",
        icon=":material/replay:",
        key="control-retry-all",
        disabled=state.active or not counts.failed,
        on_click=retry_failed,
        args=(store, jobs, sid),
        help="Run every failed item again, also those that failed for good (a bad link, a "
        "refused key): worth it after fixing the cause.",
        width="content",
    )


def stopped_by_model_failure(
    store: Store, session_id: str, state: RunState, counts: SessionCounts
) -> bool:
    """Whether a model every item needs failed and stopped the session, work left: a plain
    Resume would load the same model again."""
    return (
        not state.active
        and counts.queued + counts.running > 0
        and counts.failed > 0
        and bool(store.failed_by_kind(session_id).get(ErrorKind.MODEL))
    )


MODEL_SWITCH_KEY = "control-resume-model"


# For a failure of another part than the speech model: the change that lets the run go on
# (as the CLI's rerun hint after such a stop names it).
_FIXES: dict[ModelPart, tuple[str, dict[str, object]]] = {
    ModelPart.DEVICE: ("Resume on the CPU", {"device": "cpu"}),
    ModelPart.COMPUTE_TYPE: ("Resume computing in int8", {"compute_type": "int8"}),
    ModelPart.SPEAKERS: ("Resume without speaker labels", {"speakers": None}),
    ModelPart.SPEAKER_OVERLAP: ("Resume without overlapping voices", {"speaker_overlap": False}),
}


def render_model_fix(store: Store, jobs: Runs, session: Session) -> None:
    """How a session a model failure stopped can go on: with another speech model chosen
    here, or without the choice that failed (the GPU, a compute type, speaker labels). The
    failed items and the rest run with it, and it stays the session's."""
    failed = store.items(session.id, [ItemStatus.FAILED])
    messages = (item.error_message for item in failed if item.error_kind == ErrorKind.MODEL)
    part = next(filter(None, map(model_part_of, messages)), ModelPart.SPEECH)
    if part in _FIXES:
        label, changes = _FIXES[part]
        st.button(
            label,
            icon=":material/swap_horiz:",
            key="control-resume-with-change",
            on_click=resume_with_changes,
            args=(store, jobs, session.id, changes),
        )
        return
    current = str(session.settings.get("model") or DEFAULT_MODEL)
    offered = [name for name in LOCAL_MODELS if name != current]
    if session.settings.get("engine", "local") != "local":
        offered = []  # a provider's models: typed
    model_col, button_col = st.columns([2, 1], vertical_alignment="bottom")
    model_col.selectbox(
        "Model to go on with",
        offered,
        key=MODEL_SWITCH_KEY,
        accept_new_options=True,
        format_func=model_label,
        help=f"This session used {model_label(current)}. Pick another, or type a model "
        "name or a model folder.",
    )
    button_col.button(
        "Resume with this model",
        icon=":material/swap_horiz:",
        key="control-resume-with-model",
        on_click=resume_with_changes,
        args=(store, jobs, session.id, None),
        width="stretch",
    )


def resume_with_changes(
    store: Store, jobs: Runs, session_id: str, changes: dict[str, object] | None
) -> None:
    """Change the session's settings (`None`: to the model chosen above), then resume it."""
    try:
        if changes is None:
            model = str(st.session_state.get(MODEL_SWITCH_KEY) or "")
            service.resume_with_model(store, session_id, model)
        else:
            service.resume_with_changes(store, session_id, changes)
    except TranscribeError as exc:
        st.toast(f"Cannot resume that way: {exc.message}", icon=":material/block:")
        return
    resume(store, jobs, session_id)


def _settings_for(store: Store, session_id: str, verb: str) -> Settings | None:
    """The session's own settings for running it again, or None after telling the user why
    (a cloud engine's key and endpoint are tried first, as when the session was started)."""
    try:
        settings = resume_settings(store, store.get_session(session_id))
    except ValueError as exc:  # a stored value this version refuses
        st.toast(f"Cannot {verb}: {exc}", icon=":material/block:")
        return None
    except TranscribeError as exc:  # e.g. a proxy password that was never stored
        st.toast(f"Cannot {verb}: {exc.message}", icon=":material/block:")
        return None
    if settings.engine != "local":
        check = service.providers.check_cloud_access(settings)
        if not check.ok:
            st.toast(access_message(check, settings.engine), icon=":material/key_off:")
            return None
    return settings


def start_new_session(
    store: Store,
    jobs: Runs,
    settings: Settings,
    ingested: IngestResult,
) -> Session:
    """Store the batch as a session (see `create_batch_session`), then run it in a job."""
    session, links = create_batch_session(store, settings, ingested)
    jobs.start(session.id, settings, links)
    return session


def create_batch_session(
    store: Store, settings: Settings, ingested: IngestResult
) -> tuple[Session, dict[str, str]]:
    """Expand playlists, channels and feeds, and store the session with its items and
    invalid entries; with the real links of the items stored scrubbed (links.py)."""
    expanded = service.inputs.expand(ingested.items, settings)  # a few requests a collection
    session = service.start_session(
        store,
        settings,
        expanded.items,
        invalid=[*ingested.invalid, *expanded.invalid],
        expansions=expanded.expansions,
    )
    return session, service.session_links(store, expanded.items)


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


_LAST_START_KEY = "last_started_batch"


def batch_fingerprint(settings: Settings, ingested: IngestResult) -> str:
    """The same links with the same settings give the same fingerprint."""
    content = json.dumps(
        [[spec.source for spec in ingested.items], settings.public_dict()],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def start_once(
    store: Store,
    jobs: Runs,
    settings: Settings,
    ingested: IngestResult,
    watch: Callable[[str], None],
) -> Session:
    """Start the batch, unless this tab already started the very same one and it has not
    ended: a double click on Start (or a click that reaches the server twice) makes one
    session, not two that transcribe the same items.

    `watch` is told the session's id as soon as it exists, before its job is launched: a
    rerun that cuts this run short (Streamlit stops a run at its next widget call when
    another one is asked for) still finds the session and shows it, instead of the form.
    """
    fingerprint = batch_fingerprint(settings, ingested)
    last = st.session_state.get(_LAST_START_KEY)
    if last and last[0] == fingerprint:
        earlier = store.find_session(last[1])
        if earlier is not None and earlier.status in (SessionStatus.CREATED, SessionStatus.RUNNING):
            watch(earlier.id)
            if not jobs.alive(earlier):  # its job did not start (or died): start it now
                jobs.start(earlier.id, settings)
            return earlier
    session, links = create_batch_session(store, settings, ingested)
    st.session_state[_LAST_START_KEY] = (fingerprint, session.id)
    watch(session.id)
    jobs.start(session.id, settings, links)
    return session
