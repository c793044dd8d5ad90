"""The runner: works through a session's queued items, sequentially or on a thread pool."""

from __future__ import annotations

import logging
import random
import resource
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path

from bulk_transcribe.engines import Engine, EngineJob, create_engine
from bulk_transcribe.errors import Cancelled, ErrorKind, TranscribeError
from bulk_transcribe.models import (
    Fetched,
    Item,
    ItemStatus,
    SessionCommand,
    SessionCounts,
    SessionStatus,
    Stage,
    TranscribeOptions,
    Transcript,
)
from bulk_transcribe.outputs import (
    build_frontmatter,
    output_stem,
    write_item_outputs,
    write_items_csv,
    write_manifest,
)
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import FetchContext, source_for
from bulk_transcribe.store import Store

log = logging.getLogger(__name__)

PROGRESS_STEP = 0.01  # store progress when it moved by 1 % ...
PROGRESS_INTERVAL = 0.5  # ... or this many seconds passed, whichever comes first
COMMAND_POLL_SECONDS = 0.25
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


class Runner:
    """Runs one session to its end, a stop, or a cancel; safe to run again to resume."""

    def __init__(
        self,
        store: Store,
        session_id: str,
        settings: Settings,
        engine: Engine | None = None,
    ):
        self.store = store
        self.session = store.get_session(session_id)
        self.settings = settings
        self._engine = engine
        self._engine_lock = threading.Lock()
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._finished = threading.Event()

    # --- commands (from this process; other processes use Store.send_command) -------------

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

    # --- running --------------------------------------------------------------------------

    def run(self) -> SessionCounts:
        session_id = self.session.id
        recovered = self.store.requeue_interrupted(session_id)
        if recovered:
            self.store.add_event(
                session_id, "resume", f"{recovered} interrupted item(s) put back in the queue"
            )
        self.store.send_command(session_id, None)
        self.store.set_session_status(session_id, SessionStatus.RUNNING)
        watcher = threading.Thread(target=self._watch_commands, name="commands", daemon=True)
        watcher.start()
        started = time.monotonic()
        try:
            queued = self.store.items(session_id, [ItemStatus.QUEUED])
            if self.settings.concurrency <= 1:
                self._run_sequential(queued)
            else:
                self._run_parallel(queued)
        finally:
            self._finished.set()
            watcher.join()
            self._close(time.monotonic() - started)
        return self.store.counts(session_id)

    def _run_sequential(self, items: list[Item]) -> None:
        for item in items:
            if self._stop.is_set():
                return
            self._process(item)

    def _run_parallel(self, items: list[Item]) -> None:
        pending = list(reversed(items))  # pop() from the end keeps the queue order
        in_flight: set[Future[None]] = set()
        with ThreadPoolExecutor(
            max_workers=self.settings.concurrency, thread_name_prefix="item"
        ) as pool:
            while pending or in_flight:
                while pending and not self._stop.is_set() and len(in_flight) < self.concurrency:
                    in_flight.add(pool.submit(self._process, pending.pop()))
                if not in_flight:
                    return
                done, in_flight = wait(
                    in_flight, timeout=COMMAND_POLL_SECONDS, return_when=FIRST_COMPLETED
                )
                for future in done:
                    future.result()  # _process handles its own errors; this surfaces bugs

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency

    def _watch_commands(self) -> None:
        """Pick up Stop/Cancel sent through the store by another view (web app, CLI)."""
        while not self._finished.wait(COMMAND_POLL_SECONDS):
            command = self.store.read_command(self.session.id)
            if command is SessionCommand.CANCEL:
                self.request_cancel()
            elif command is SessionCommand.STOP:
                self.request_stop()

    def _check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def _engine_instance(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = create_engine(self.settings)
            return self._engine

    # --- one item -------------------------------------------------------------------------

    def _process(self, item: Item) -> None:
        """Run one item to done or failed (retrying transient errors); never raises."""
        retries = self.settings.max_retries
        for attempt in range(retries + 1):
            if self._cancel.is_set():
                return
            try:
                self._attempt(item)
                return
            except Cancelled:
                self.store.requeue_item(item.id, ErrorKind.CANCELLED, "cancelled; resume to redo")
                return
            except TranscribeError as exc:
                if exc.transient and attempt < retries:
                    delay = self._retry_delay(attempt, exc.retry_after)
                    self.store.requeue_item(item.id, exc.kind, exc.message)
                    self.store.add_event(
                        self.session.id,
                        "retry",
                        f"{item.display_title}: {exc.message} (retry in {delay:.0f} s)",
                        item.id,
                    )
                    if self._cancel.wait(delay):
                        return
                    continue
                self._fail(item, exc.kind, exc.message)
                return
            except Exception as exc:  # a bug or an unmapped library error: isolate the item
                log.exception("unexpected error on %s", item.source)
                self._fail(item, ErrorKind.INTERNAL, f"unexpected error: {exc!r}")
                return

    @staticmethod
    def _retry_delay(attempt: int, retry_after: float | None) -> float:
        backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**attempt)
        jittered = backoff * (0.5 + random.random() / 2)
        return max(jittered, retry_after or 0.0)

    def _fail(self, item: Item, kind: str, message: str) -> None:
        self.store.finish_item(
            item.id, ItemStatus.FAILED, error_kind=str(kind), error_message=message
        )
        self.store.add_event(
            self.session.id, "item_failed", f"{item.display_title}: {message}", item.id
        )

    def _attempt(self, item: Item) -> None:
        store = self.store
        store.start_item(item.id)
        context = FetchContext(
            settings=self.settings,
            cache_dir=self.settings.out_dir / "cache",
            check_cancelled=self._check_cancelled,
            engine_accepts_urls=getattr(self._engine_instance(), "accepts_urls", False),
        )
        fetched = source_for(item.source_type).fetch(item, context)
        store.update_item_info(
            item.id, title=fetched.title, duration=fetched.duration, metadata=fetched.metadata
        )
        self._check_cancelled()
        if fetched.transcript is not None:
            transcript = fetched.transcript
        else:
            store.set_stage(item.id, Stage.TRANSCRIBING, 0.0)
            transcript = self._transcribe(item, fetched)
        self._check_cancelled()
        store.set_stage(item.id, Stage.WRITING)
        self._write(store.get_item(item.id), transcript)

    def _transcribe(self, item: Item, fetched: Fetched) -> Transcript:
        store = self.store
        engine = self._engine_instance()
        job = EngineJob(
            options=TranscribeOptions(language=self.settings.language),
            on_progress=self._progress_reporter(item.id),
            saved_request_id=lambda: store.last_provider_request_id(item.id),
            save_request_id=lambda request_id: store.set_provider_request_id(item.id, request_id),
            source_url=item.source if item.source_type.is_remote else None,
        )
        if fetched.remote_url is not None:
            return engine.transcribe_url(fetched.remote_url, job)  # type: ignore[attr-defined]
        if fetched.media is None:
            raise RuntimeError(f"source for {item.source_type} returned nothing to transcribe")
        return engine.transcribe(fetched.media, job)

    def _progress_reporter(self, item_id: int):
        last = {"value": 0.0, "at": time.monotonic()}

        def report(fraction: float) -> None:
            self._check_cancelled()
            now = time.monotonic()
            if fraction - last["value"] >= PROGRESS_STEP or now - last["at"] >= PROGRESS_INTERVAL:
                self.store.set_stage(item_id, Stage.TRANSCRIBING, fraction)
                last.update(value=fraction, at=now)

        return report

    def _write(self, item: Item, transcript: Transcript) -> None:
        folder = self.session.folder
        frontmatter = build_frontmatter(
            item=item,
            transcript=transcript,
            session_id=self.session.id,
            transcribed_at=datetime.now(UTC),
        )
        paths = write_item_outputs(
            folder,
            output_stem(item.display_title, item.key),
            self.settings.formats,
            frontmatter,
            transcript,
        )
        self.store.finish_item(
            item.id,
            ItemStatus.DONE,
            outputs=[str(Path(p).relative_to(folder)) for p in paths],
            method=transcript.method,
            language=transcript.language,
        )

    # --- closing --------------------------------------------------------------------------

    def _close(self, elapsed: float) -> None:
        session_id = self.session.id
        self.store.requeue_interrupted(session_id)  # anything a crash of a worker left running
        counts = self.store.counts(session_id)
        if self._cancel.is_set():
            status = SessionStatus.CANCELLED
        elif counts.queued or counts.running:
            status = SessionStatus.STOPPED
        else:
            status = SessionStatus.COMPLETED
        self.store.set_session_status(session_id, status)
        self.store.send_command(session_id, None)
        metrics = _session_metrics(counts, elapsed, self.store.metrics(session_id))
        self.store.update_metrics(session_id, metrics)
        write_outputs_index(self.store, session_id)


def write_outputs_index(store: Store, session_id: str) -> None:
    """Regenerate manifest.json and items.csv from the store."""
    session = store.get_session(session_id)
    items = store.items(session_id)
    write_manifest(session, items, store.counts(session_id), store.metrics(session_id))
    write_items_csv(session, items)


def _session_metrics(counts: SessionCounts, elapsed: float, previous: dict) -> dict:
    """Throughput of this run, and totals across every run of the session."""
    minutes = max(elapsed, 1e-6) / 60
    finished = counts.done + counts.failed
    return {
        "runs": previous.get("runs", 0) + 1,
        "wall_seconds_last_run": round(elapsed, 2),
        "wall_seconds_total": round(previous.get("wall_seconds_total", 0.0) + elapsed, 2),
        "items_per_minute_last_run": round(
            (finished - previous.get("finished_before", 0)) / minutes, 2
        ),
        "finished_before": finished,
        "audio_minutes_done": round(counts.audio_seconds_done / 60, 2),
        "success_rate": round(counts.done / finished, 4) if finished else None,
        "failure_rate": round(counts.failed / finished, 4) if finished else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
