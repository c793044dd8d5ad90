"""What a run's end and `status` print about a session's items: the items (or, in a big
session, those not done) and the counts."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from bulk_transcribe import service
from bulk_transcribe.models import Item, ItemStatus, Session, SessionCounts
from bulk_transcribe.store import Store

from .common import console
from .progress import format_minutes, shown

PROBLEM_ROWS = 20  # failed items listed at the end of a big run; the rest are in items.csv
BIG_SESSION_ITEMS = 30  # past this many, a run's summary and `status` list only problems
STATUS_PAGE_ROWS = 1000  # `status --all` reads and prints this many items at a time


def print_items(
    store: Store,
    session: Session,
    counts: SessionCounts,
    only_problems: bool,
    owner_alive: bool = True,
) -> None:
    """Every item, a page at a time; or, in a big session, the first of those not done (read
    from the store's index by status: a running session of 100,000 items answers at once).
    `owner_alive`: whether a process runs the session (its items in flight are "running")."""
    if not only_problems:
        page: list[Item] = []
        for item in store.iter_items(session.id):
            page.append(item)
            if len(page) == STATUS_PAGE_ROWS:
                console.print(_items_table(page, owner_alive))
                page = []
        if page or not counts.total:
            console.print(_items_table(page, owner_alive))
        return
    not_done = [
        item
        for status in (ItemStatus.RUNNING, ItemStatus.FAILED, ItemStatus.SKIPPED, ItemStatus.QUEUED)
        for item in store.first_items(session.id, status, PROBLEM_ROWS)
    ]
    if not not_done:
        return
    first = sorted(not_done, key=lambda i: i.position)[:PROBLEM_ROWS]
    console.print(_items_table(first, owner_alive))
    listed = "items.csv in the session folder"
    if service.items_list(session) is None:  # written when the run ends
        listed = f"`bulk-transcribe status {session.id} --all`"
    print_more(console, counts.total - counts.done, "items not done", listed)


def _items_table(items: Iterable[Item], owner_alive: bool) -> Table:
    table = Table("#", "title", "status", "audio", "method", "problem")
    for item in items:
        colour = {"done": "green", "failed": "red"}.get(item.status.value, "yellow")
        table.add_row(
            str(item.position),
            shown(item.display_title[:50]),
            f"[{colour}]{service.item_status_text(item, owner_alive)}[/]",
            f"{item.duration:.0f} s" if item.duration else "",
            item.method or "",
            shown(f"{item.error_kind}: {item.error_message}") if item.error_message else "",
        )
    return table


def print_more(where: Console, count: int, what: str, see: str) -> None:
    if count > PROBLEM_ROWS:
        where.print(f"… and {count - PROBLEM_ROWS} more {what}: see {see}.", highlight=False)


def print_counts(counts: SessionCounts) -> None:
    console.print(
        f"{counts.done} done, {counts.failed} failed, {counts.skipped} skipped, "
        f"{counts.queued + counts.running} remaining of {counts.total}; "
        f"{format_minutes(counts.audio_seconds_transcribed)} audio minutes transcribed."
    )
