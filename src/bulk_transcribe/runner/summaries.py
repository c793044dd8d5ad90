"""Summaries made beside a run: off the coordinator's path, written by the coordinator.

When an item is done (its transcript kept, its files written), the coordinator hands the
transcript to a small pool of threads that ask the chat model; each result comes back as a
message the coordinator writes like any other (the store, then the note). A failed summary
is an event, never a failed item: `bulk-transcribe summarize SESSION` makes the missing ones.
"""

from __future__ import annotations

import logging
import queue
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from bulk_transcribe.chat.client import ChatClient, chat_configured
from bulk_transcribe.chat.summaries import Summarizer, SummaryFailed
from bulk_transcribe.errors import ErrorKind, PermanentError, TranscribeError
from bulk_transcribe.models import Session, Summary, Transcript
from bulk_transcribe.outputs.summary_note import NoteEdited, write_summarised_note
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.store.summaries import Summaries

log = logging.getLogger(__name__)

SUMMARY_THREADS = 2  # chat requests at once; the endpoint's budget paces them anyway


@dataclass(frozen=True)
class SummaryResult:
    item_id: int
    summary: Summary | None = None
    problem: str | None = None


def check_summary_settings(settings: Settings) -> None:
    """Summaries need a chat model: say so before anything runs."""
    if settings.summarize and not chat_configured(settings):
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            "--summarize needs a chat model: set BULK_TRANSCRIBE_CHAT_API_BASE (an "
            "OpenAI-compatible endpoint) and BULK_TRANSCRIBE_CHAT_MODEL",
        )


class SummaryWork:
    """A few threads making summaries; `results()` hands them to the coordinator."""

    def __init__(self, settings: Settings):
        self._chat = ChatClient(settings)
        self._part_chars = settings.summary_part_chars
        self._pool = ThreadPoolExecutor(SUMMARY_THREADS, thread_name_prefix="summary")
        self._done: queue.SimpleQueue[SummaryResult] = queue.SimpleQueue()
        self._outstanding: set[Future] = set()

    @classmethod
    def for_settings(cls, settings: Settings) -> SummaryWork | None:
        return cls(settings) if settings.summarize and chat_configured(settings) else None

    def submit(self, item_id: int, title: str, transcript: Transcript) -> None:
        future = self._pool.submit(self._make, item_id, title, transcript)
        self._outstanding.add(future)
        future.add_done_callback(self._outstanding.discard)

    def _make(self, item_id: int, title: str, transcript: Transcript) -> None:
        try:
            summary = Summarizer(self._chat, self._part_chars).summarize(title, transcript)
            self._done.put(SummaryResult(item_id, summary=summary))
        except SummaryFailed as exc:
            self._done.put(SummaryResult(item_id, problem=str(exc)))
        except Exception as exc:  # a bug must cost the summary, never the run
            log.exception("summary of item %s failed", item_id)
            self._done.put(SummaryResult(item_id, problem=f"unexpected error: {exc!r}"))

    def results(self) -> list[SummaryResult]:
        found = []
        while True:
            try:
                found.append(self._done.get_nowait())
            except queue.Empty:
                return found

    @property
    def outstanding(self) -> bool:
        return bool(self._outstanding) or not self._done.empty()

    def close(self) -> None:
        """Stop: summaries not started are dropped (`summarize` makes them later)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._chat.close()


def write_summary(store: Store, session: Session, result: SummaryResult) -> None:
    """Keep a summary and rewrite the item's note with it, or record why there is none."""
    if result.summary is None:
        store.add_event(
            session.id,
            "summary_failed",
            f"no summary: {result.problem}; the transcript is kept, and "
            f"`bulk-transcribe summarize {session.id}` tries again",
            result.item_id,
        )
        return
    Summaries(store).save(result.item_id, result.summary)
    stored = store.transcript(result.item_id)
    if stored is not None:
        try:
            write_summarised_note(
                session.folder,
                item=store.get_item(result.item_id),
                transcript=stored.transcript,
                session_id=session.id,
                transcribed_at=datetime.fromisoformat(stored.transcribed_at),
                summary=result.summary,
            )
        except NoteEdited as exc:  # someone's changes come first: the summary waits
            store.add_event(
                session.id,
                "summary_failed",
                f"{exc}; the summary is kept in the store: `bulk-transcribe export "
                f"{session.id} --overwrite` writes the note with it (the edits are lost)",
                result.item_id,
            )
            return
        except OSError as exc:  # kept in the store: `export` writes the note again
            store.add_event(
                session.id, "summary_failed", f"note not rewritten: {exc}", result.item_id
            )
            return
    parts = result.summary.parts
    store.add_event(
        session.id,
        "summary",
        "summarised" + (f" in {parts} parts" if parts > 1 else ""),
        result.item_id,
    )


@dataclass(frozen=True)
class SummarizeResult:
    made: int
    failed: list[tuple[str, str]]  # (title, why)


def summarize_session(
    store: Store, session_id: str, settings: Settings, *, again: bool = False
) -> SummarizeResult:
    """Make the summaries a session's done items lack (all of them with `again`), here and
    now; the session must not be running (the caller checks)."""
    check_summary_settings(settings.model_copy(update={"summarize": True}))
    session = store.get_session(session_id)
    summaries = Summaries(store)
    wanted = (
        [i.id for i in store.items(session_id) if store.transcript(i.id) is not None]
        if again
        else summaries.missing(session_id)
    )
    made, failed = 0, []
    with ChatClient(settings) as chat:
        summarizer = Summarizer(chat, settings.summary_part_chars)
        for item_id in wanted:
            item = store.get_item(item_id)
            stored = store.transcript(item_id)
            if stored is None:
                continue
            try:
                summary = summarizer.summarize(item.display_title, stored.transcript)
                result = SummaryResult(item_id, summary=summary)
                made += 1
            except (SummaryFailed, TranscribeError) as exc:
                result = SummaryResult(item_id, problem=str(exc))
                failed.append((item.display_title, str(exc)))
            write_summary(store, session, result)
    return SummarizeResult(made, failed)
