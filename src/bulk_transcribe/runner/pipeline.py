"""One item's way through the pipeline: fetch, transcribe, write — retried when it may help."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bulk_transcribe.engines import Engine, EngineJob
from bulk_transcribe.engines.base import ProgressCallback
from bulk_transcribe.errors import Cancelled, ErrorKind, PermanentError, TranscribeError
from bulk_transcribe.models import (
    Fetched,
    Item,
    ItemStatus,
    Session,
    Stage,
    TranscribeOptions,
    Transcript,
)
from bulk_transcribe.outputs import build_frontmatter, output_stem, write_item_outputs
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import FetchContext, source_for
from bulk_transcribe.store import Store

log = logging.getLogger(__name__)

PROGRESS_STEP = 0.01  # store progress when it moved by 1 % ...
PROGRESS_INTERVAL = 0.5  # ... or this many seconds passed, whichever comes first
RETRY_BASE_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


@dataclass
class Lease:
    """One item in flight. Once `lost` (timed out), the worker's late results are dropped."""

    item: Item
    deadline: float
    cancel: threading.Event = field(default_factory=threading.Event)
    lost: bool = False


class ItemPipeline:
    """Runs items to done or failed; every state change goes to the store first."""

    def __init__(
        self,
        store: Store,
        session: Session,
        settings: Settings,
        engine: Callable[[], Engine],
        cancel_all: threading.Event,
    ):
        self.store = store
        self.session = session
        self.settings = settings
        self._engine = engine
        self._cancel_all = cancel_all
        self._current = threading.local()  # the lease this worker thread is on

    def current_lease(self) -> Lease | None:
        return getattr(self._current, "lease", None)

    def process(self, lease: Lease) -> None:
        """Run one item to done or failed, retrying transient errors; never raises."""
        self._current.lease = lease
        item = lease.item
        try:
            for attempt in range(self.settings.max_retries + 1):
                if lease.cancel.is_set() or lease.lost:
                    return
                try:
                    self._attempt(lease)
                    return
                except Cancelled:
                    if not lease.lost:
                        self.store.requeue_item(item.id, ErrorKind.CANCELLED, "cancelled")
                    return
                except TranscribeError as exc:
                    if lease.lost:
                        return
                    if exc.transient and attempt < self.settings.max_retries:
                        self._retry_later(lease, exc, attempt)
                        continue
                    self.fail(item, exc.kind, exc.message)
                    return
                except Exception as exc:  # a bug or an unmapped library error: isolate it
                    log.exception("unexpected error on %s", item.source)
                    if not lease.lost:
                        self.fail(item, ErrorKind.INTERNAL, f"unexpected error: {exc!r}")
                    return
        finally:
            self._current.lease = None

    def fail(self, item: Item, kind: str, message: str) -> None:
        self.store.finish_item(
            item.id, ItemStatus.FAILED, error_kind=str(kind), error_message=message
        )
        self.store.add_event(
            self.session.id, "item_failed", f"{item.display_title}: {message}", item.id
        )

    def check_cancelled(self) -> None:
        lease = self.current_lease()
        if self._cancel_all.is_set() or (lease is not None and lease.cancel.is_set()):
            raise Cancelled()

    def _retry_later(self, lease: Lease, exc: TranscribeError, attempt: int) -> None:
        backoff = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**attempt)
        delay = max(backoff * (0.5 + random.random() / 2), exc.retry_after or 0.0)  # jitter
        item = lease.item
        self.store.requeue_item(item.id, exc.kind, exc.message)
        self.store.add_event(
            self.session.id,
            "retry",
            f"{item.display_title}: {exc.message} (retry in {delay:.1f} s)",
            item.id,
        )
        lease.cancel.wait(delay)

    def _attempt(self, lease: Lease) -> None:
        item, store = lease.item, self.store
        store.start_item(item.id)
        context = FetchContext(
            settings=self.settings,
            cache_dir=self.settings.out_dir / "cache",
            check_cancelled=self.check_cancelled,
            engine_accepts_urls=getattr(self._engine(), "accepts_urls", False),
        )
        fetched = source_for(item.source_type).fetch(item, context)
        self.check_cancelled()
        store.update_item_info(
            item.id, title=fetched.title, duration=fetched.duration, metadata=fetched.metadata
        )
        if fetched.transcript is not None:
            transcript = fetched.transcript
        else:
            store.set_stage(item.id, Stage.TRANSCRIBING, 0.0)
            transcript = self._transcribe(item, fetched)
        self.check_cancelled()
        store.set_stage(item.id, Stage.WRITING)
        self._write(store.get_item(item.id), transcript, lease)

    def _transcribe(self, item: Item, fetched: Fetched) -> Transcript:
        store = self.store
        engine = self._engine()
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
            raise PermanentError(
                ErrorKind.INTERNAL, f"{item.source_type} source returned nothing to transcribe"
            )
        return engine.transcribe(fetched.media, job)

    def _progress_reporter(self, item_id: int) -> ProgressCallback:
        last = {"value": 0.0, "at": time.monotonic()}

        def report(fraction: float) -> None:
            self.check_cancelled()
            now = time.monotonic()
            if fraction - last["value"] >= PROGRESS_STEP or now - last["at"] >= PROGRESS_INTERVAL:
                self.store.set_stage(item_id, Stage.TRANSCRIBING, fraction)
                last.update(value=fraction, at=now)

        return report

    def _write(self, item: Item, transcript: Transcript, lease: Lease) -> None:
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
        if lease.lost:  # timed out meanwhile: the item is already reported as failed
            return
        self.store.finish_item(
            item.id,
            ItemStatus.DONE,
            outputs=[str(Path(p).relative_to(folder)) for p in paths],
            method=transcript.method,
            language=transcript.language,
        )
