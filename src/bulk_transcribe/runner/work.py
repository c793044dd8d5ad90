"""One item's work, as a worker does it: fetch and transcribe, then return an outcome.

A worker never touches the store or the session folder. It reports what it learns and where
it is through a `WorkReporter`, and returns an `Outcome`; the coordinator alone writes. Every
message here is a picklable dataclass, so a worker may live in another process or machine.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bulk_transcribe import workscope
from bulk_transcribe.engines import Engine, EngineJob
from bulk_transcribe.engines.http_errors import retry_after_of_429
from bulk_transcribe.errors import Cancelled, ErrorKind, PermanentError, TranscribeError
from bulk_transcribe.models import Fetched, Item, Stage, TranscribeOptions, Transcript
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import FetchContext, source_for
from bulk_transcribe.sources.cache import unusable_download
from bulk_transcribe.workscope import RequestSlots

log = logging.getLogger(__name__)

PROGRESS_STEP = 0.01  # report progress when it moved by 1 % ...
PROGRESS_INTERVAL = 0.5  # ... or this many seconds passed, whichever comes first


@dataclass(frozen=True)
class WorkUnit:
    """What a worker gets: one item, which attempt this is, and a request to pick up again."""

    item: Item
    attempt: int
    resume_request_id: str | None = None  # a provider job submitted by an earlier attempt
    # The item's real link when its stored one was scrubbed of credentials: it travels with
    # its unit, in memory only (links.py).
    real_link: str | None = None
    # Pieces of the item a provider transcribed in earlier attempts (key -> result JSON).
    saved_chunks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ItemInfo:
    """What a source learned about an item (title, length, metadata)."""

    title: str | None = None
    duration: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RateLimitNotice:
    """A provider refused a request with 429."""

    provider: str
    retry_after: float | None
    sent_at: float  # when the refused request was sent (time.time())


@dataclass(frozen=True)
class Progress:
    """A worker's news about the item it is on; fields left None did not change."""

    item_id: int
    attempt: int
    stage: Stage | None = None
    fraction: float | None = None
    info: ItemInfo | None = None
    request_id: str | None = None
    event: tuple[str, str] | None = None  # (kind, message) for the session's event log
    rate_limited: RateLimitNotice | None = None
    chunk: tuple[str, str] | None = None  # (key, result JSON) of a piece just transcribed


# Answers from the speech provider that refuse every item alike (a rejected or revoked key,
# an account out of credit): one ends the run instead of each queued item asking in turn.
PROVIDER_REFUSALS = frozenset({ErrorKind.AUTH, ErrorKind.QUOTA})


@dataclass(frozen=True)
class ItemError:
    kind: str
    message: str
    transient: bool
    retry_after: float | None = None
    # The speech provider refused what every item needs (the key, the account's credit, the
    # endpoint itself): the rest would fail alike. Never set for a fetch's refusal.
    every_item: bool = False
    # Answers that were charged and could not be read (engines/retries.py): a few items in a
    # row mean the provider, or a proxy before it, garbles every answer.
    charged_unreadable: bool = False


@dataclass(frozen=True)
class Outcome:
    """How a unit of work ended: a transcript, an error, or cancelled."""

    item_id: int
    attempt: int
    transcript: Transcript | None = None
    info: ItemInfo | None = None
    error: ItemError | None = None
    cancelled: bool = False


Message = Progress | Outcome


# The reporter of the unit this thread (or context) works on, so code deep inside an engine
# or an HTTP hook, such as the rate limiter, can report waits and 429s without a reference
# to the runner. Threads started inside a unit must run in contextvars.copy_context().
current_reporter: contextvars.ContextVar[UnitReporter | None] = contextvars.ContextVar(
    "current_reporter", default=None
)


class UnitReporter:
    """How a worker tells the coordinator what happens, and learns that it should stop.

    `send` is the executor's channel back to the coordinator (a queue for threads, an actor
    for Ray); everything else is the same wherever the worker runs.
    """

    def __init__(self, unit: WorkUnit, send: Callable[[Message], None], cancel: threading.Event):
        self.unit = unit
        self.cancel = cancel
        self._send = send
        self._stage: Stage | None = None
        self._last_fraction = 0.0
        self._last_at = time.monotonic()

    def _progress(self, **fields: Any) -> Progress:
        return Progress(item_id=self.unit.item.id, attempt=self.unit.attempt, **fields)

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    def stage(self, stage: Stage, fraction: float | None = None) -> None:
        self._stage = stage
        self._send(self._progress(stage=stage, fraction=fraction))

    @property
    def current_stage(self) -> Stage | None:
        return self._stage

    def progress(self, fraction: float) -> None:
        """Transcription progress; raises Cancelled when the user aborts."""
        self.check_cancelled()
        now = time.monotonic()
        if (
            fraction - self._last_fraction >= PROGRESS_STEP
            or now - self._last_at >= PROGRESS_INTERVAL
        ):
            self._last_fraction, self._last_at = fraction, now
            self._send(self._progress(stage=Stage.TRANSCRIBING, fraction=fraction))

    def info(self, info: ItemInfo) -> None:
        self._send(self._progress(info=info))

    def request_id(self, request_id: str) -> None:
        self._send(self._progress(request_id=request_id))

    def event(self, kind: str, message: str) -> None:
        self._send(self._progress(event=(kind, message)))

    def chunk_done(self, key: str, result_json: str) -> None:
        """A piece of the item was transcribed (and paid for): the coordinator keeps it."""
        self._send(self._progress(chunk=(key, result_json)))

    def rate_limited(self, notice: RateLimitNotice) -> None:
        self._send(self._progress(rate_limited=notice))

    def waiting_for_rate_limit(self, waiting: bool) -> None:
        """Time spent here never counts against the item's time limit."""
        if waiting:
            self._send(self._progress(stage=Stage.WAITING_RATE_LIMIT))
        else:
            self._send(self._progress(stage=self._stage or Stage.TRANSCRIBING))


def report_rate_limit_wait(waiting: bool) -> None:
    """A rate-limit hook's `on_wait`, for whichever unit this thread works on."""
    reporter = current_reporter.get()
    if reporter is not None:
        reporter.waiting_for_rate_limit(waiting)


def report_rate_limit_violation(provider: str, response: httpx.Response, sent_at: float) -> None:
    """A rate-limit hook's `on_violation`: the unit's request got a 429."""
    reporter = current_reporter.get()
    if reporter is not None:
        retry_after = retry_after_of_429(response.headers)
        reporter.rate_limited(RateLimitNotice(provider, retry_after, sent_at))


def run_unit(
    unit: WorkUnit,
    settings: Settings,
    engine: Callable[[], Engine],
    reporter: UnitReporter,
    slots: RequestSlots | None = None,
) -> Outcome:
    """Fetch and transcribe one item; never raises, never writes the store.

    Waits deep inside (rate limits, Retry-After, back-offs) end on the reporter's cancel;
    `slots` bounds the requests in flight (chunk uploads) across units, when given."""
    token = current_reporter.set(reporter)
    try:
        with workscope.scope(reporter.cancel, slots):
            return _run(unit, settings, engine, reporter)
    finally:
        current_reporter.reset(token)


def _run(
    unit: WorkUnit, settings: Settings, engine: Callable[[], Engine], reporter: UnitReporter
) -> Outcome:
    item = unit.item
    in_engine = False
    try:
        reporter.check_cancelled()
        reporter.stage(Stage.FETCHING)
        context = FetchContext(
            settings=settings,
            cache_dir=settings.out_dir / "cache",
            check_cancelled=reporter.check_cancelled,
            engine_accepts_urls=engine().accepts_urls,
            real_link=unit.real_link,
        )
        fetched = source_for(item.source_type).fetch(item, context)
        reporter.check_cancelled()
        info = ItemInfo(title=fetched.title, duration=fetched.duration, metadata=fetched.metadata)
        reporter.info(info)
        in_engine = fetched.transcript is None
        try:
            transcript = fetched.transcript or _transcribe(
                unit, fetched, settings, engine(), reporter
            )
        except PermanentError as exc:
            if exc.kind is not ErrorKind.DECODE or fetched.media is None:
                raise
            path = fetched.media.path
            raise unusable_download(context.cache_dir, path, item.source, exc) from exc
        reporter.check_cancelled()
        return Outcome(item_id=item.id, attempt=unit.attempt, transcript=transcript, info=info)
    except Cancelled:
        return Outcome(item_id=item.id, attempt=unit.attempt, cancelled=True)
    except TranscribeError as exc:
        every_item = in_engine and (
            exc.kind in PROVIDER_REFUSALS or getattr(exc, "every_item", False)
        )
        error = ItemError(
            str(exc.kind),
            exc.message,
            exc.transient,
            exc.retry_after,
            every_item,
            charged_unreadable=in_engine and getattr(exc, "charged_unreadable", False),
        )
        return Outcome(item_id=item.id, attempt=unit.attempt, error=error)
    except Exception as exc:  # a bug or an unmapped library error: isolate it to this item
        log.exception("unexpected error on %s", item.source)
        error = ItemError(str(ErrorKind.INTERNAL), f"unexpected error: {exc!r}", False)
        return Outcome(item_id=item.id, attempt=unit.attempt, error=error)


def _transcribe(
    unit: WorkUnit, fetched: Fetched, settings: Settings, engine: Engine, reporter: UnitReporter
) -> Transcript:
    item = unit.item
    reporter.stage(Stage.TRANSCRIBING, 0.0)
    job = EngineJob(
        options=TranscribeOptions(
            language=settings.language,
            word_times=settings.shows_times,
            prompt=item_prompt(settings.prompt, item.metadata.get("hints")),
            hotwords=settings.hotwords,
        ),
        on_progress=reporter.progress,
        saved_request_id=lambda: unit.resume_request_id,
        save_request_id=reporter.request_id,
        source_url=(unit.real_link or item.source) if item.source_type.is_remote else None,
        saved_chunks=unit.saved_chunks,
        save_chunk=reporter.chunk_done,
    )
    if fetched.remote_url is not None:
        return engine.transcribe_url(fetched.remote_url, job)
    if fetched.media is None:
        raise PermanentError(
            ErrorKind.INTERNAL, f"{item.source_type} source returned nothing to transcribe"
        )
    return engine.transcribe(fetched.media, job)


def item_prompt(common: str | None, hints: object) -> str | None:
    """The session's prompt and the item's own hints (a sheet's hints column), joined."""
    parts = [p.strip() for p in (common, hints if isinstance(hints, str) else None) if p]
    return ", ".join(p for p in parts if p) or None
