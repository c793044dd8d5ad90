"""Live progress in the terminal, drawn from the store while a runner works in the background."""

from __future__ import annotations

import contextlib
import io
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

from bulk_transcribe.figures import clock
from bulk_transcribe.models import ItemStatus
from bulk_transcribe.redact import scrub_text
from bulk_transcribe.store import Store

REFRESH_SECONDS = 0.25
# Events a user should see as they happen, not only in the store: why the run slowed down.
SHOWN_EVENT_KINDS = ("rate_limit", "concurrency", "stopped", "waiting")


def shown(text: object) -> str:
    """Text from the outside (titles, links, server errors) made safe for a rich console:
    no terminal escapes, no secrets, and its brackets never read as rich markup."""
    return escape(scrub_text(str(text)))


def degrade_unprintable_output() -> None:
    """A console that cannot encode a character ("→" on cp1252) prints "?" instead of
    crashing the program with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def format_minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def format_eta(seconds: float | None) -> str:
    return "--:--" if seconds is None else clock(seconds, moment=True)


def describe_metrics(metrics: dict) -> str:
    """One line of a run's throughput, limits and resources, from the store's metrics."""
    if not metrics:
        return ""
    parts = [
        f"{metrics.get('items_per_minute', 0):.1f} items/min",
        f"{metrics.get('audio_minutes_per_minute', 0):.1f} audio min/min",
    ]
    if metrics.get("rpm_limit"):
        parts.append(
            f"{metrics.get('requests_last_60s', 0)}/{metrics['rpm_limit']} requests in the last"
            f" window ({(metrics.get('rate_limit_utilisation') or 0):.0%})"
        )
        parts.append(f"{metrics.get('count_429', 0)} rate-limit hits (429)")
    allowance = metrics.get("rate_limit_allowance")
    if (
        allowance is not None
        and metrics.get("rpm_limit")
        and allowance < 0.95 * metrics["rpm_limit"] - 1
    ):
        parts.append(f"allowance lowered to {allowance} per window after 429s")
    if metrics.get("rate_limit_paused_seconds"):
        parts.append(f"paused {metrics['rate_limit_paused_seconds']:.0f} s as the provider asked")
    concurrency = f"concurrency {metrics.get('current_concurrency', '?')}"
    if metrics.get("fallback_sequential"):
        concurrency += f" (fell back to sequential: {metrics.get('fallback_reason')})"
    parts.append(concurrency)
    parts.append(f"peak memory {metrics.get('peak_rss_mb', 0):.0f} MB")
    parts.append(f"CPU {metrics.get('cpu_percent', 0):.0f} %")
    return " · ".join(parts)


def watch(
    console: Console,
    store: Store,
    session_id: str,
    finished: threading.Event,
    on_interrupt: Callable[[int], None],
) -> None:
    """Draw progress until `finished` is set; Ctrl-C calls `on_interrupt(times_pressed)`.

    Ctrl-C is handled by a SIGINT handler of our own that calls `on_interrupt` itself, not by
    a KeyboardInterrupt: Python runs a signal's handler wherever the main thread is, and a
    KeyboardInterrupt raised inside a finaliser the garbage collector is running (frequent
    under load) is printed as "Exception ignored" and lost. The handler raises nothing.

    Waits on the event rather than Thread.join: a join interrupted by Ctrl-C can leave the
    thread looking finished while it still runs (CPython gh-90882); an interrupted Event.wait
    leaves nothing behind, and returns the moment the run ends (no sleep to finish first).
    """
    interrupts = 0

    def interrupted() -> None:
        nonlocal interrupts
        interrupts += 1
        on_interrupt(interrupts)

    if console.is_terminal:
        draw = _LiveView(console, store, session_id)
    else:
        draw = _LogView(console, store, session_id)
    with _ctrl_c_calls(interrupted), draw:
        while not finished.is_set():
            try:
                if not finished.wait(REFRESH_SECONDS):
                    draw.refresh()
            except KeyboardInterrupt:  # not in the main thread: no handler of ours
                interrupted()
        draw.refresh()


@contextlib.contextmanager
def _ctrl_c_calls(action: Callable[[], None]) -> Iterator[None]:
    """SIGINT calls `action` (in the main thread, between two bytecodes) while inside."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; KeyboardInterrupt is caught instead
        return
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: action())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _EventFeed:
    """New rate-limit and concurrency events of a session, each once, in order."""

    def __init__(self, store: Store, session_id: str):
        self.store, self.session_id = store, session_id
        self.last_id = max((e.id for e in store.events(session_id, limit=100_000)), default=0)

    def lines(self) -> list[Text]:
        fresh = self.store.events(self.session_id, after_id=self.last_id)
        if fresh:
            self.last_id = fresh[-1].id
        return [
            Text(f"  {event.kind.replace('_', ' ')}: {scrub_text(event.message)}", style="yellow")
            for event in fresh
            if event.kind in SHOWN_EVENT_KINDS
        ]


class _LiveView:
    """Overall bar (items, audio minutes, ETA) and one line per active item."""

    def __init__(self, console: Console, store: Store, session_id: str):
        self.store, self.session_id = store, session_id
        counts = store.counts(session_id)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
        )
        self.task = self.progress.add_task("Transcribing", total=counts.total or 1, detail="")
        self.live = Live(console=console, refresh_per_second=8, transient=False)
        self.events = _EventFeed(store, session_id)

    def __enter__(self) -> _LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def refresh(self) -> None:
        for line in self.events.lines():
            self.live.console.print(line, highlight=False, soft_wrap=True)
        counts = self.store.counts(self.session_id)
        metrics = self.store.metrics(self.session_id)
        detail = (
            f"{counts.finished}/{counts.total} items · "
            f"{format_minutes(counts.audio_seconds_done)}/"
            f"{format_minutes(counts.audio_seconds_total)} audio min · "
            f"failed {counts.failed} · ETA {format_eta(metrics.get('eta_seconds'))}"
        )
        self.progress.update(self.task, completed=counts.finished, detail=detail)
        active = Table.grid(padding=(0, 2))
        for item in self.store.items(self.session_id, [ItemStatus.RUNNING]):
            active.add_row(
                f"  [cyan]{shown(item.display_title[:60])}",
                f"{item.stage.value}",
                f"{item.progress * 100:5.1f} %",
            )
        status = describe_metrics(metrics)
        self.live.update(Group(self.progress, Text(f"  {status}", style="dim"), active))


class _LogView:
    """Plain lines for logs and pipes: one per finished item."""

    def __init__(self, console: Console, store: Store, session_id: str):
        self.console, self.store, self.session_id = console, store, session_id
        # Only the items finished at the latest instant are read: those before it are never
        # asked for again (a resumed session of 100,000 items need not be read whole).
        self.since = store.last_finished_at(session_id)
        latest = store.finished_since(session_id, self.since) if self.since else []
        self.reported: set[int] = {i.id for i in latest}
        # Numbered as they finish, one by one: counts read at refresh time would repeat a
        # number for items finishing together and skip the ones between.
        self.finished = store.counts(session_id).finished
        self.events = _EventFeed(store, session_id)

    def __enter__(self) -> _LogView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def refresh(self) -> None:
        for line in self.events.lines():
            self.console.print(line, highlight=False, soft_wrap=True)
        total = self.store.counts(self.session_id).total
        for item in self.store.finished_since(self.session_id, self.since):
            if item.finished_at != self.since:  # a later instant: forget the earlier ones
                self.since, self.reported = item.finished_at, set()
            if item.id in self.reported:
                continue
            self.reported.add(item.id)
            self.finished += 1
            if item.status not in (ItemStatus.DONE, ItemStatus.FAILED):
                continue
            outcome = "done" if item.status is ItemStatus.DONE else f"FAILED: {item.error_message}"
            self.console.print(
                f"[{self.finished}/{total}] {shown(item.display_title)}: {shown(outcome)}",
                highlight=False,
                soft_wrap=True,
            )
