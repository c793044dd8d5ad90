"""The coordinator: owns a session while it runs, decides what runs when, and alone writes.

Workers only compute (runner/work.py); an executor runs them (threads here, Ray elsewhere).
Everything a worker reports arrives here as a message and is written to the store and the
session folder by this one thread, with every item state change guarded by its attempt.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bulk_transcribe.engines import Engine, create_engine
from bulk_transcribe.errors import (
    RETRY_ON_RESUME,
    ErrorKind,
    TranscribeError,
    disk_full,
    is_disk_full,
)
from bulk_transcribe.figures import clock_time
from bulk_transcribe.links import RealLinks
from bulk_transcribe.models import (
    NO_SPEECH,
    Item,
    ItemStatus,
    Owner,
    SessionCommand,
    SessionCounts,
    SessionStatus,
    Stage,
    Transcript,
)
from bulk_transcribe.outputs import write_transcript_files
from bulk_transcribe.outputs.markdown import utc_timestamp
from bulk_transcribe.plurals import counted
from bulk_transcribe.runner.adaptive import ConcurrencyChange, ConcurrencyController
from bulk_transcribe.runner.coalesce import bare_progress as _bare_progress
from bulk_transcribe.runner.coalesce import without_moot
from bulk_transcribe.runner.executors import Executor, ThreadExecutor
from bulk_transcribe.runner.index import write_outputs_index
from bulk_transcribe.runner.metrics import RunMetrics
from bulk_transcribe.runner.ownership import (
    HEARTBEAT_SECONDS,
    OWNER_EXPIRY_SECONDS,
    SessionBusy,
    is_dead,
    new_owner,
    still_beating,
)
from bulk_transcribe.runner.ratelimit import RateLimitHook
from bulk_transcribe.runner.resources import ResourceMonitor
from bulk_transcribe.runner.restore import restore_missing_outputs
from bulk_transcribe.runner.summaries import SummaryWork, write_summary
from bulk_transcribe.runner.work import (
    ItemError,
    Message,
    Outcome,
    Progress,
    RateLimitNotice,
    WorkUnit,
    report_rate_limit_violation,
    report_rate_limit_wait,
)
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Fence, RunningElsewhere, Store, Superseded
from bulk_transcribe.store.summaries import Summaries

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1  # how long the loop waits for a worker's message
COMMAND_POLL_SECONDS = 0.25  # commands from other views, via the store
MONITOR_SECONDS = 1.0  # metrics, resources, adapting and timeouts
CANCEL_GRACE_SECONDS = 1.5  # workers that ignore a cancel are abandoned after this
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0
# Items finished ahead of their turn wait, unseen, for the item running; past this many the
# runner waits too, so the progress the user sees stays close to the work done.
MAX_FINISHED_AHEAD = 4
# How often an item another session is transcribing is looked at again (one indexed query).
ELSEWHERE_RECHECK_SECONDS = 2.0
# Items in a row whose paid answers could not be read that stop the run (_count_unreadable).
UNREADABLE_ITEMS_STOP = 3


@dataclass
class Flight:
    """One unit in flight. Once `lost` (timed out, abandoned), its late messages are dropped.

    A flight `ahead` works on the next item before its turn (see Runner._read_ahead): its
    item stays queued in the store and its messages are held until its turn comes.
    """

    unit: WorkUnit
    started: float  # time.monotonic()
    duration: float | None
    waited: float = 0.0  # seconds spent waiting for the rate limiter: never counted
    waiting_since: float | None = None
    lost: bool = False
    ahead: bool = False
    held: list[Message] = field(default_factory=list)
    kept_at: str | None = None  # when its transcript was stored (transcribed_at)

    def hold(self, message: Message) -> None:
        """Keep a message for the item's turn; of its bare progress updates only the last."""
        if _bare_progress(message) and self.held and _bare_progress(self.held[-1]):
            self.held[-1] = message
        else:
            self.held.append(message)

    @property
    def finished_ahead(self) -> bool:
        """Worked on ahead and ended, waiting for its turn to be written."""
        return self.ahead and any(isinstance(m, Outcome) for m in self.held)

    def elapsed(self, now: float) -> float:
        waiting = now - self.waiting_since if self.waiting_since is not None else 0.0
        return now - self.started - self.waited - waiting


class Runner:
    """Runs one session to its end, a stop, or a cancel; running it again resumes it."""

    def __init__(
        self,
        store: Store,
        session_id: str,
        settings: Settings,
        engine: Engine | None = None,
        executor: Executor | None = None,
        links: RealLinks | None = None,
    ):
        """`links` are the real links of the items stored scrubbed (links.py), by item key."""
        self.store = store
        self.session = store.get_session(session_id)
        self.settings = settings
        self.owner: Owner = new_owner()
        self._links = dict(links or {})
        self._engine = engine
        self._owns_engine = engine is None
        self._engine_lock = threading.Lock()
        self._executor = executor
        self._owns_executor = executor is None
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._flights: dict[int, Flight] = {}
        # Ids of the items to start, in order: the items themselves are read from the store
        # when their turn comes (100,000 items held whole cost ~640 MB).
        self._pending: list[int] = []
        self._not_before: dict[int, float] = {}  # retries wait for their back-off
        self._tries: dict[int, int] = {}  # attempts in this run, for the retry budget
        self._waiting_for: dict[int, str] = {}  # items another session is transcribing now
        self._stop_reason: str | None = None
        self._store_problems: set[str] = set()  # store failures already told
        self._unavailable: str | None = None  # a provider that asked for too long a pause
        self._unreadable_in_a_row = 0  # items whose charged answers could not be read
        self._lost_ownership = False
        self._heartbeat_stop = threading.Event()
        self._under_pressure = False  # memory or disk short, at the last reading
        self.controller = ConcurrencyController(
            settings.concurrency, quiet_seconds=settings.quiet_seconds
        )
        # The provider's budget is shared with every session and process on the machine.
        self.rate_limits = RateLimitHook.for_settings(
            settings,
            on_wait=report_rate_limit_wait,
            on_violation=report_rate_limit_violation,
        )
        self.resources = ResourceMonitor(
            settings.out_dir, settings.memory_budget_mb, settings.min_free_disk_mb
        )
        self.metrics = RunMetrics(store, session_id)
        # Summaries are made beside the run (threads of their own) and written here.
        self.summaries = SummaryWork.for_settings(settings)

    # --- commands (from this process; other processes use the store) ---------------------

    def request_stop(self) -> None:
        """Finish the items already running, start nothing new."""
        self._stop.set()

    def request_cancel(self) -> None:
        """Abort running items now; they go back to the queue for a later resume."""
        self._stop.set()
        self._cancel.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def taken_over(self) -> bool:
        """Another process claimed the session during this run: this one stopped its workers
        and wrote nothing after that."""
        return self._lost_ownership

    def warm_up(self) -> Engine:
        """Create the engine (load the model, import the SDK) before the clock starts."""
        engine = self._engine_instance()
        engine.warm_up()
        self.resources.mark_baseline()  # memory pressure is growth from here on
        return engine

    # --- running --------------------------------------------------------------------------

    def run(self) -> SessionCounts:
        """Claim the session, work through its queue, and let go; raises SessionBusy when
        another live process runs it."""
        session_id = self.session.id
        current = self.store.get_session(session_id).owner
        if (
            current is not None
            and current.heartbeat_age(time.time()) >= OWNER_EXPIRY_SECONDS
            and not is_dead(current)
        ):
            beating = still_beating(current, lambda: self.store.get_session(session_id).owner)
            if beating is not None:
                raise SessionBusy(session_id, beating)
        holder = self.store.claim_session(session_id, self.owner, OWNER_EXPIRY_SECONDS, is_dead)
        if holder is not None:
            raise SessionBusy(session_id, holder)
        fence = self.store.owner_fence(session_id, self.owner.id)
        if fence is None:  # claimed by another process in the meantime
            raise SessionBusy(session_id, self.store.get_session(session_id).owner or self.owner)
        # Every write of this run is refused once another process has claimed the session.
        heartbeat = threading.Thread(
            target=self._keep_heartbeat, args=(fence,), name="heartbeat", daemon=True
        )
        heartbeat.start()
        try:
            with self.store.fenced(fence):
                self._run_fenced()
        finally:
            self._heartbeat_stop.set()
            heartbeat.join()
        return self.store.counts(session_id)

    def _run_fenced(self) -> None:
        try:
            self._prepare()
            if self.resources.baseline_mb is None:
                self.resources.mark_baseline()
            if self._executor is None:
                # Requests in flight (chunk uploads too) follow the live concurrency.
                self._executor = ThreadExecutor(
                    self.settings, self._engine_instance, slots=self.controller.slots
                )
            try:
                self._loop(self._executor)
            except Superseded:
                self._superseded()
                self._abandon_all(self._executor)
            finally:
                self._close()
        except Superseded:
            self._superseded()
        finally:
            self._heartbeat_stop.set()  # letting go is not being taken over
            with contextlib.suppress(Superseded):
                self.store.release_session(self.session.id, self.owner.id)  # if _close did not

    def _prepare(self) -> None:
        session_id = self.session.id
        recovered = self.store.requeue_interrupted(session_id)
        if recovered:
            self.store.add_event(
                session_id,
                "resume",
                f"{counted(recovered, 'interrupted item')} put back in the queue",
            )
        fixable = self.store.requeue_failed(session_id, kinds=RETRY_ON_RESUME)
        if fixable:
            self.store.add_event(
                session_id,
                "resume",
                f"{counted(fixable, 'item')} that failed for a passing reason (network, full disk, "
                "time limit, rate limit) put back in the queue",
            )
        # Temporary files of atomic writes cut short by a crash: never an output.
        for stale in self.session.folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        self.store.send_command(session_id, None)
        self.store.request_concurrency(session_id, None)
        self.store.set_session_status(session_id, SessionStatus.RUNNING)
        if self.settings.summarize and self.summaries is None:
            self.store.add_event(
                session_id,
                "summary_failed",
                "summaries were asked for but no chat model is configured here (set "
                "BULK_TRANSCRIBE_CHAT_API_BASE and _CHAT_MODEL); transcripts are made as usual",
            )
        if self.summaries is not None:
            # Summaries an earlier run of this session did not keep (killed while one was
            # made, stopped, or refused): made now, as a resume makes its unfinished items.
            for item_id in Summaries(self.store).missing(session_id):
                stored = self.store.transcript(item_id)
                if stored is not None:
                    title = self.store.get_item(item_id).display_title
                    self.summaries.submit(item_id, title, stored.transcript)
        # A parallel run starts long items first: they must not start last and finish alone.
        self._pending = self.store.queued_ids(
            session_id, longest_first=self.settings.concurrency > 1
        )

    def _loop(self, executor: Executor) -> None:
        next_commands = next_tick = 0.0
        while True:
            now = time.monotonic()
            if now >= next_commands:
                next_commands = now + COMMAND_POLL_SECONDS
                self._guarded(self._poll_commands)
            if now >= next_tick:
                next_tick = now + MONITOR_SECONDS
                self._guarded(self._tick)
            if self._cancel.is_set():
                self._abandon_all(executor)
                return
            if self._stop.is_set():
                self._drop_ahead()
            else:
                self._submit_ready(executor)
            self._guarded(self._write_summaries)
            # Summaries still being made keep the run open (a cancel does not wait for them).
            summarising = self.summaries is not None and self.summaries.outstanding
            idle = not self._active() and (self._stop.is_set() or not self._pending)
            if idle and not summarising:
                return
            for message in without_moot(executor.poll(POLL_SECONDS), self._keeps_transcript):
                self._handle(message)

    def _keeps_transcript(self, item_id: int, attempt: int) -> bool:
        """Whether an outcome of this attempt that brings a transcript will be stored."""
        flight = self._flights.get(item_id)
        live = flight is not None and flight.unit.attempt == attempt and not flight.lost
        return live and not self._lost_ownership

    def _active(self) -> list[Flight]:
        """Flights whose items the user sees running."""
        return [f for f in self._flights.values() if not f.lost and not f.ahead]

    def _ahead(self) -> list[Flight]:
        return [f for f in self._flights.values() if not f.lost and f.ahead]

    def _read_ahead(self) -> int:
        """How many items to work on before their turn.

        An engine that keeps several items busy at once on one machine (the local model runs
        a batch per core) would idle at one item at a time: a 20 s clip is one window, one
        core. So it gets the next items early, while the user still sees one running at a
        time, in order. Cloud engines say 1: their limits are the user's business.
        """
        if self._engine is None or self._under_pressure:
            return 0
        # Items still running above a lowered limit (parallel turned off mid-run) count too.
        running = max(self.controller.limit, len(self._active()))
        return max(0, self._engine.items_at_once - running)

    def _submit_ready(self, executor: Executor) -> None:
        while len(self._active()) < self.controller.limit:
            ahead = self._ahead()
            if ahead:  # the next item's turn: it is already under way
                self._promote(ahead[0])
                continue
            item_id = self._next_ready()
            if item_id is None:
                break
            if self._linked_to_another_session(item_id):
                continue
            try:
                attempt = self._start(item_id)
            except RunningElsewhere as busy:
                self._wait_for(item_id, busy.session_id)
                continue
            if attempt is None:  # no longer queued: nothing to do here
                continue
            stored = self.store.transcript(item_id)
            if stored is not None:  # transcribed before, but its files were never written
                self._finish_done(item_id, attempt, stored.transcript, stored.transcribed_at)
                continue
            self._launch(executor, self.store.get_item(item_id), attempt, ahead=False)
        read_ahead = self._read_ahead() if self._pending else 0
        while True:
            ahead = self._ahead()
            finished = sum(1 for f in ahead if f.finished_ahead)
            if len(ahead) - finished >= read_ahead or finished >= MAX_FINISHED_AHEAD:
                return
            item_id = self._next_ready()
            if item_id is None:
                return
            if self.store.transcript(item_id) is not None:  # nothing left to compute
                self._pending.insert(0, item_id)
                return
            if self._linked_to_another_session(item_id):
                continue
            elsewhere = self._running_elsewhere(item_id)
            if elsewhere is not None:
                self._wait_for(item_id, elsewhere)
                continue
            # The attempt start_item will open when its turn comes (this process owns the
            # session, so nothing else starts it meanwhile; _promote checks).
            stored_item = self.store.get_item(item_id)
            self._launch(executor, stored_item, stored_item.attempts + 1, ahead=True)

    def _launch(self, executor: Executor, item: Item, attempt: int, *, ahead: bool) -> None:
        """Hand `item`, as the store has it now, to a worker."""
        unit = WorkUnit(
            item=item,
            attempt=attempt,
            resume_request_id=self.store.last_provider_request_id(item.id),
            real_link=self._links.get(item.key),
            saved_chunks=self.store.chunk_results(item.id),
        )
        self._tries[item.id] = self._tries.get(item.id, 0) + 1
        self._flights[item.id] = Flight(unit, time.monotonic(), item.duration, ahead=ahead)
        executor.submit(unit)

    def _promote(self, flight: Flight) -> None:
        """The turn of an item worked on ahead: start it in the store, then let what it
        reported meanwhile (progress, even its outcome) through as if it had just happened."""
        item_id = flight.unit.item.id
        if flight.kept_at is None and self._linked_to_another_session(item_id):
            flight.lost = True  # another session finished it first: its work is not needed
            assert self._executor is not None
            self._executor.cancel(item_id)
            return
        try:
            attempt = self._start(item_id)
        except RunningElsewhere as busy:  # another session started it meanwhile
            flight.lost = True
            assert self._executor is not None
            self._executor.cancel(item_id)
            self._wait_for(item_id, busy.session_id)
            return
        if attempt != flight.unit.attempt:  # not ours to finish after all
            flight.lost = True
            assert self._executor is not None
            self._executor.cancel(item_id)
            if attempt is not None:
                self.store.requeue_item(item_id, attempt=attempt)
                self._pending.insert(0, item_id)
            return
        flight.ahead = False
        held, flight.held = flight.held, []
        for message in held:
            self._handle(message)

    def _drop_ahead(self) -> None:
        """A stop: the items worked on ahead never started; they stay queued. A transcript
        one of them finished is already in the store, and its turn will write it."""
        assert self._executor is not None
        for flight in reversed(self._ahead()):
            flight.lost = True
            self._executor.cancel(flight.unit.item.id)
            self._pending.insert(0, flight.unit.item.id)

    # --- the same item in another session (two runs of one list, a team's shared server) ---

    def _start(self, item_id: int) -> int | None:
        """Start the item in the store, unless (without --force) another live session is
        transcribing it now: then RunningElsewhere, and this session waits for its result."""
        if self.settings.force:
            return self.store.start_item(item_id)
        live_since = time.time() - OWNER_EXPIRY_SECONDS
        return self.store.start_unless_running_elsewhere(item_id, live_since, is_dead)

    def _running_elsewhere(self, item_id: int) -> str | None:
        """The live session transcribing the item now, if any (a look only: before working
        on an item ahead of its turn; its turn's start decides)."""
        if self.settings.force:
            return None
        live_since = time.time() - OWNER_EXPIRY_SECONDS
        return self.store.running_elsewhere(item_id, live_since, is_dead)

    def _linked_to_another_session(self, item_id: int) -> bool:
        """Without --force, an item another session finished while this one ran is skipped
        and linked, as it would have been had that session finished before this one began."""
        if self.settings.force:
            return False
        archived = self.store.archived_copy(item_id)
        if archived is None or self.store.transcript(item_id) is not None:
            return False
        item = self.store.get_item(item_id)
        if item.status is not ItemStatus.QUEUED:
            return False
        self.store.skip_as_archived(item_id, archived)
        self._waiting_for.pop(item_id, None)
        self.store.add_event(
            self.session.id,
            "archive",
            f"{item.display_title}: transcribed meanwhile by session {archived.session_id}; "
            "skipped and linked (use --force to transcribe it again)",
            item_id,
        )
        return True

    def _wait_for(self, item_id: int, session_id: str) -> None:
        """Another session is transcribing the item: look again later, after the items that
        can start now, and link its result (or run it, should that session fail or stop)."""
        if self._waiting_for.get(item_id) != session_id:
            self._waiting_for[item_id] = session_id
            title = self.store.get_item(item_id).display_title
            self.store.add_event(
                self.session.id,
                "waiting",
                f"{title}: session {session_id} is transcribing it now; this session waits "
                "for its result instead of paying for it twice",
                item_id,
            )
        self._not_before[item_id] = time.monotonic() + ELSEWHERE_RECHECK_SECONDS
        self._pending.append(item_id)

    def _next_ready(self) -> int | None:
        now = time.monotonic()
        for index, item_id in enumerate(self._pending):
            if self._not_before.get(item_id, 0.0) <= now:
                self._not_before.pop(item_id, None)
                return self._pending.pop(index)
        return None

    # --- messages from workers ------------------------------------------------------------

    def _handle(self, message: Message) -> None:
        chunk = message.chunk if isinstance(message, Progress) else None
        # Paid for, whatever became of its attempt (cancelled, timed out): kept at once.
        if chunk is not None and not self._lost_ownership:
            key, result = chunk
            self._guarded(lambda: self.store.save_chunk_result(message.item_id, key, result))
        flight = self._flights.get(message.item_id)
        if flight is None or flight.unit.attempt != message.attempt:
            return  # from an attempt this run no longer follows
        if flight.ahead:
            finished_work = isinstance(message, Outcome) and message.transcript is not None
            if finished_work and not self._lost_ownership:
                # Kept at once, even after a stop dropped it: a crash or a stop before its
                # turn must not cost the work.
                self._guarded(lambda: self._keep_transcript(flight, message))
            if not flight.lost:
                flight.hold(message)
                return
        if isinstance(message, Outcome):
            del self._flights[message.item_id]
            if not flight.lost:
                self._guarded(lambda: self._on_outcome(flight, message))
        elif not flight.lost:
            self._guarded(lambda: self._on_progress(flight, message))

    def _on_progress(self, flight: Flight, progress: Progress) -> None:
        item_id, attempt = progress.item_id, progress.attempt
        now = time.monotonic()
        if progress.stage is Stage.WAITING_RATE_LIMIT:
            if flight.waiting_since is None:
                flight.waiting_since = now
        elif progress.stage is not None and flight.waiting_since is not None:
            flight.waited += now - flight.waiting_since
            flight.waiting_since = None
        if progress.stage is not None:
            self.store.set_stage(item_id, progress.stage, progress.fraction, attempt=attempt)
        if progress.info is not None:
            info = progress.info
            self.store.update_item_info(
                item_id, title=info.title, duration=info.duration, metadata=info.metadata
            )
            if info.duration:  # the time limit grows with what is now known
                flight.duration = info.duration
        if progress.request_id is not None:
            self.store.set_provider_request_id(item_id, progress.request_id)
        if progress.event is not None:
            kind, text = progress.event
            self.store.add_event(self.session.id, kind, text, item_id)
        if progress.rate_limited is not None:
            self._on_rate_limited(progress.rate_limited)

    def _keep_transcript(self, flight: Flight, outcome: Outcome) -> str:
        """Store the outcome's transcript (once per flight); returns when it was made."""
        assert outcome.transcript is not None
        if flight.kept_at is None:  # not yet, or the last try failed
            transcribed_at = utc_timestamp(datetime.now(UTC))
            self.store.save_transcript(outcome.item_id, outcome.transcript, transcribed_at)
            flight.kept_at = transcribed_at
        return flight.kept_at

    def _on_outcome(self, flight: Flight, outcome: Outcome) -> None:
        item_id, attempt = outcome.item_id, outcome.attempt
        if outcome.info is not None:
            info = outcome.info
            self.store.update_item_info(
                item_id, title=info.title, duration=info.duration, metadata=info.metadata
            )
        if outcome.cancelled:
            self.store.requeue_item(item_id, ErrorKind.CANCELLED, "cancelled", attempt=attempt)
            return
        if outcome.error is not None:
            error = outcome.error
            too_long = self.settings.max_provider_pause_seconds
            if error.transient and error.retry_after is not None and error.retry_after > too_long:
                self._wait_too_long(item_id, attempt, error.kind, error.message, error.retry_after)
                return
            if error.transient and self._tries.get(item_id, 1) <= self.settings.max_retries:
                self._retry_later(flight, error.kind, error.message, error.retry_after)
            else:
                self._fail(item_id, attempt, error.kind, error.message)
                if error.every_item:
                    self._stop_for_provider(error.message)
                self._count_unreadable(error)
            return
        assert outcome.transcript is not None
        self._unreadable_in_a_row = 0
        # Kept before any file is written: a full disk costs a rewrite, never a re-transcription.
        transcribed_at = self._keep_transcript(flight, outcome)
        self._finish_done(item_id, attempt, outcome.transcript, transcribed_at)

    def _finish_done(
        self, item_id: int, attempt: int, transcript: Transcript, transcribed_at: str
    ) -> None:
        self.store.set_stage(item_id, Stage.WRITING, attempt=attempt)
        item = self.store.get_item(item_id)

        def write() -> list[str]:
            return write_transcript_files(
                self.session.folder,
                session_id=self.session.id,
                item=item,
                transcript=transcript,
                transcribed_at=datetime.fromisoformat(transcribed_at),
                formats=self.settings.formats,
            )

        try:
            try:
                outputs = write()
            except FileNotFoundError:
                # The session folder was removed between its mkdir and the write (deleted
                # by hand mid-run): writing makes it again, once.
                outputs = write()
        except TranscribeError as exc:
            self._fail(item_id, attempt, exc.kind, exc.message)
            return
        except OSError as exc:
            kind, message = _describe_write_error(exc, self.session.folder)
            self._fail(item_id, attempt, kind, message)
            return
        if not any(segment.text.strip() for segment in transcript.segments):
            # Done, yet nothing was said: views say so instead of a plain "done".
            self.store.update_item_info(item_id, metadata={NO_SPEECH: True})
        self.store.finish_item(
            item_id,
            ItemStatus.DONE,
            outputs=outputs,
            method=transcript.method,
            language=transcript.language,
            attempt=attempt,
        )
        self.store.forget_chunk_results(item_id)
        if self.summaries is not None:
            self.summaries.submit(item_id, item.display_title, transcript)

    def _write_summaries(self) -> None:
        if self.summaries is not None:
            for result in self.summaries.results():
                write_summary(self.store, self.session, result)

    def _retry_later(
        self, flight: Flight, kind: str, message: str, retry_after: float | None
    ) -> None:
        item = flight.unit.item
        tries = self._tries.get(item.id, 1)
        backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (tries - 1))
        delay = max(backoff * (0.5 + random.random() / 2), retry_after or 0.0)  # jitter
        if not self.store.requeue_item(item.id, kind, message, attempt=flight.unit.attempt):
            return
        self.store.add_event(
            self.session.id,
            "retry",
            f"{item.display_title}: {message} (retry in {delay:.1f} s)",
            item.id,
        )
        self._not_before[item.id] = time.monotonic() + delay
        self._pending.insert(0, item.id)

    def _fail(self, item_id: int, attempt: int, kind: str, message: str) -> None:
        if not self.store.finish_item(
            item_id, ItemStatus.FAILED, error_kind=str(kind), error_message=message, attempt=attempt
        ):
            return  # another outcome for this attempt was recorded first
        title = self.store.get_item(item_id).display_title
        self.store.add_event(self.session.id, "item_failed", f"{title}: {message}", item_id)
        if kind == ErrorKind.DISK_FULL and not self._stop.is_set():
            self._stop_reason = (
                "the disk is full: the run stopped. Free some space, then resume the session "
                "(items that failed for lack of space are tried again)"
            )
            self.store.add_event(self.session.id, "stopped", self._stop_reason)
            self.request_stop()
        elif kind == ErrorKind.UNWRITABLE and not self._stop.is_set():
            # Every later item would be transcribed (perhaps paid for) only to fail the same way.
            self._stop_reason = (
                f"the output folder {self.session.folder} cannot be written: the run stopped. "
                "Make it writable, then resume the session (its transcripts are kept and "
                "only written, not made again)"
            )
            self.store.add_event(self.session.id, "stopped", self._stop_reason)
            self.request_stop()
        elif kind == ErrorKind.MODEL and not self._stop.is_set():
            # Every item needs the model (speech, speakers, the device): the rest would fail
            # the same way, one by one.
            self._stop_reason = (
                f"a model every item needs failed ({message}): the run stopped, the other "
                "items wait in the queue; fix what it says, then run the inputs again"
            )
            self.store.add_event(self.session.id, "stopped", self._stop_reason)
            self.request_stop()

    def _count_unreadable(self, error: ItemError) -> None:
        """Items whose paid answers could not be read, one after another: from a few in a row
        on, the provider or a proxy before it garbles every answer, and each further item
        would pay twice for nothing. One that is read resets the count."""
        if not error.charged_unreadable:
            return
        self._unreadable_in_a_row += 1
        if self._unreadable_in_a_row >= UNREADABLE_ITEMS_STOP:
            said = error.message.split("; ")[0]
            self._stop_for_provider(
                f"{self._unreadable_in_a_row} items in a row were answered but their answers "
                f"could not be read ({said})"
            )

    def _stop_for_provider(self, message: str) -> None:
        """The speech provider refused the key, has no credit left or has no such endpoint:
        every other item would be refused the same way, one request each, so the run stops
        and they stay queued."""
        if self._stop.is_set():
            return
        self._stop_reason = (
            f"{message}: the run stopped, the other items wait in the queue; fix that, then "
            "resume the session (with --retry-failed for the item that was refused)"
        )
        self.store.add_event(self.session.id, "stopped", self._stop_reason)
        self.request_stop()

    def _wait_too_long(
        self, item_id: int, attempt: int, kind: str, message: str, retry_after: float
    ) -> None:
        """A server asked for a pause longer than any worth waiting for: the item ends, to
        be tried again by a resume after then; a provider's answer also ends the run, since
        every item waits for the same provider."""
        until = clock_time(time.time() + retry_after)
        said = message.split("; ")[0]
        self._fail(item_id, attempt, kind, f"{said}; unavailable until {until}: resume after then")
        provider = self._unavailable
        if provider is None or self._stop.is_set():
            return
        self._stop_reason = (
            f"{provider} is unavailable until {until} (it asked to wait {retry_after:,.0f} s, "
            f"more than the {self.settings.max_provider_pause_seconds:g} s a run waits): the "
            "run stopped; resume the session after then"
        )
        self.store.add_event(self.session.id, "stopped", self._stop_reason)
        self.request_stop()
        assert self._executor is not None
        for flight in self._active():  # they would only wait for the same provider
            self._executor.cancel(flight.unit.item.id)

    def _on_rate_limited(self, notice: RateLimitNotice) -> None:
        if (
            notice.retry_after is not None
            and notice.retry_after > self.settings.max_provider_pause_seconds
        ):
            self._unavailable = notice.provider
        # The limiter's own account of the 429 (pause, allowance) reaches the event log via
        # _record_limit_changes; here only the concurrency reacts, and not to requests that
        # were already in flight at its last decrease.
        reason = f"{notice.provider} answered 429" + (
            f" (Retry-After {notice.retry_after:g} s)" if notice.retry_after is not None else ""
        )
        sent_at = time.monotonic() - max(0.0, time.time() - notice.sent_at)
        self._record_change(self.controller.on_violation(reason, sent_at=sent_at))

    # --- the monitor: commands, heartbeat, resources, timeouts, metrics -------------------

    def _poll_commands(self) -> None:
        command = self.store.read_command(self.session.id)
        if command is SessionCommand.CANCEL:
            self.request_cancel()
        elif command is SessionCommand.STOP:
            self.request_stop()
        requested = self.store.requested_concurrency(self.session.id)
        if requested is not None:
            self._record_change(self.controller.set_ceiling(requested))

    def _keep_heartbeat(self, fence: Fence) -> None:
        """The owner's sign of life, on a thread and a connection of its own, so a slow
        coordinator step never lets the session look abandoned. When another process has
        claimed the session, or the heartbeat cannot be renewed for nearly the expiry (so
        another process may claim it), the workers are stopped at once: nothing more is
        paid for or written by this run."""
        last_renewed = time.monotonic()
        with Store(self.store.path) as own, own.fenced(fence):
            while not self._heartbeat_stop.wait(HEARTBEAT_SECONDS):
                try:
                    renewed = own.heartbeat(fence.session_id, fence.owner_id)
                except Superseded:
                    renewed = False
                except TranscribeError as exc:  # the database is busy or failing
                    log.warning("heartbeat of session %s failed: %s", fence.session_id, exc)
                    if time.monotonic() - last_renewed < OWNER_EXPIRY_SECONDS - HEARTBEAT_SECONDS:
                        continue
                    renewed = False
                if not renewed:
                    if not self._heartbeat_stop.is_set():  # not let go on purpose meanwhile
                        self._superseded()
                    return
                last_renewed = time.monotonic()

    def _superseded(self) -> None:
        """Another process runs the session now: stop every worker and write nothing more."""
        if self._lost_ownership:
            return
        log.warning("session %s was taken over by another process", self.session.id)
        self._lost_ownership = True
        self.request_cancel()
        executor = self._executor
        if executor is not None:
            for flight in list(self._flights.values()):
                executor.cancel(flight.unit.item.id)

    def _tick(self) -> None:
        reading = self.resources.read()
        pressure = self.resources.pressure(reading)
        self._under_pressure = bool(pressure)
        if pressure and self.controller.limit > 1:
            self._record_change(self.controller.on_pressure(pressure))
        self._record_change(self.controller.tick())
        self._record_limit_changes()
        self._expire_overdue()
        self.metrics.publish(self.controller, self.rate_limits.stats(), reading)

    def _time_limit(self, flight: Flight) -> float:
        return self.settings.item_timeout_seconds + self.settings.item_timeout_per_audio_second * (
            flight.duration or 0
        )

    def _expire_overdue(self) -> None:
        now = time.monotonic()
        for flight in self._active():
            limit = self._time_limit(flight)
            if flight.elapsed(now) <= limit:
                continue
            flight.lost = True
            assert self._executor is not None
            self._executor.cancel(flight.unit.item.id)
            self._fail(
                flight.unit.item.id,
                flight.unit.attempt,
                ErrorKind.TIMEOUT,
                f"took longer than its time limit of {limit:.0f} s (600 s plus 10 s per second "
                "of audio, not counting waits for the rate limit); resume with "
                "`--retry-failed` to try it again",
            )

    def _abandon_all(self, executor: Executor) -> None:
        """Cancel: every worker is told to stop; whatever has not stopped within the grace
        period is abandoned and its item put back in the queue, so Cancel never waits on a
        stuck wait or call."""
        self._drop_ahead()
        for flight in self._active():
            executor.cancel(flight.unit.item.id)
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while self._active() and time.monotonic() < deadline:
            for message in executor.poll(POLL_SECONDS):
                self._handle(message)
        for flight in self._active():
            flight.lost = True
            if not self._lost_ownership:
                self.store.requeue_item(
                    flight.unit.item.id,
                    ErrorKind.CANCELLED,
                    "cancelled",
                    attempt=flight.unit.attempt,
                )

    def _record_limit_changes(self) -> None:
        """Pauses and allowance changes of the providers' budgets, with their reasons."""
        for change in self.rate_limits.drain_changes():
            self.store.add_event(self.session.id, "rate_limit", change.reason)

    def _record_change(self, change: ConcurrencyChange | None) -> None:
        if change is not None:
            self.store.add_event(
                self.session.id,
                "concurrency",
                f"concurrency {change.before} → {change.after}: {change.reason}",
            )

    def _guarded(self, step: Callable[[], None]) -> None:
        """The coordinator must outlive any one bad reading or message."""
        try:
            step()
        except Superseded:
            self._superseded()
        except TranscribeError as exc:
            if exc.kind in (ErrorKind.DISK_FULL, ErrorKind.DATABASE):
                self._store_refuses(exc)
            else:
                log.exception("coordinator step failed")
        except Exception:
            log.exception("coordinator step failed")

    def _store_refuses(self, exc: TranscribeError) -> None:
        """The store cannot be written (a full disk, a read-only database): nothing more can
        be recorded, so the run stops; said once, in words, not a traceback per step."""
        if exc.message in self._store_problems:
            return
        self._store_problems.add(exc.message)
        log.warning("%s", exc.message)
        self.request_stop()

    def _engine_instance(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = create_engine(self.settings, self.rate_limits)
                self._configure_limits(self._engine)
            elif not self.rate_limits.limiters:
                self._configure_limits(self._engine)
            return self._engine

    def _configure_limits(self, engine: Engine) -> None:
        provider = engine.provider
        if provider is not None:  # a provider without a known limit still learns from 429s
            self.rate_limits.set_limit(provider.provider_id, self.settings.rpm or provider.rpm)

    # --- closing --------------------------------------------------------------------------

    def _close(self) -> None:
        session_id = self.session.id
        if self._owns_executor and self._executor is not None:
            self._executor.close()
        if self._owns_engine and self._engine is not None:
            self._engine.close()
        if self.summaries is not None:  # those not made yet: `bulk-transcribe summarize`
            self.summaries.close()
        if self._lost_ownership:
            self.rate_limits.close()
            return
        for flight in self._active():  # a stop that ended with work still out
            self.store.requeue_item(flight.unit.item.id, attempt=flight.unit.attempt)
        counts = self.store.counts(session_id)
        if self._cancel.is_set():
            status = SessionStatus.CANCELLED
        elif counts.queued or counts.running:
            status = SessionStatus.STOPPED
        else:
            status = SessionStatus.COMPLETED
        self.store.send_command(session_id, None)
        self._record_limit_changes()
        self.metrics.publish(
            self.controller, self.rate_limits.stats(), self.resources.read(), final=True
        )
        self.rate_limits.close()
        final = replace(self.store.get_session(session_id), status=status)
        try:
            restored = restore_missing_outputs(self.store, final, tuple(self.settings.formats))
            if restored:
                self.store.add_event(
                    session_id,
                    "outputs",
                    f"{counted(restored, 'finished item')} had files missing from the session "
                    "folder: written again from the store",
                )
            write_outputs_index(self.store, session_id, session=final)
        except (TranscribeError, OSError) as exc:  # a full disk: the store keeps it all
            message = exc.message if isinstance(exc, TranscribeError) else str(exc)
            self.store.add_event(
                session_id, "index", f"manifest.json and items.csv not written: {message}"
            )
        # Last: the final status and letting go are one step, so whoever sees the session
        # stopped can resume it at once.
        self._heartbeat_stop.set()  # letting go is not being taken over
        self.store.release_session(session_id, self.owner.id, status)


def _describe_write_error(exc: OSError, folder: object) -> tuple[str, str]:
    if is_disk_full(exc):
        return ErrorKind.DISK_FULL, disk_full(f"writing the transcript files in {folder}").message
    if exc.errno in _FOLDER_UNWRITABLE:
        return ErrorKind.UNWRITABLE, (
            f"cannot write the transcript files in {folder} ({exc.strerror or exc}): make the "
            "folder writable (or choose another --out), then resume the session"
        )
    return ErrorKind.INTERNAL, f"could not write the transcript files in {folder}: {exc}"


# Write errors of the folder, not of one item's file: every later item would meet them too.
_FOLDER_UNWRITABLE = frozenset(
    {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EEXIST}
)
