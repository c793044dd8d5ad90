"""The Now processing panel: one card per item in flight, however many run at once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from bulk_transcribe.models import Item, ItemStatus
from bulk_transcribe.plurals import counted
from bulk_transcribe.store import Event
from bulk_transcribe.web.formatting import clock, elapsed, seconds_since

CARDS_PER_ROW = 3
MAX_CARDS = 30  # more than this in flight is not readable as cards; the table has them all


@dataclass(frozen=True)
class InFlight:
    item_id: int
    position: int
    title: str
    source: str
    thumbnail: str | None
    stage: str
    percent: int
    elapsed_seconds: float | None
    duration: float | None
    attempt: int


def in_flight(items: list[Item], now: datetime | None = None) -> list[InFlight]:
    now = now or datetime.now(UTC)
    return [
        InFlight(
            item_id=item.id,
            position=item.position,
            title=item.display_title,
            source=item.source,
            thumbnail=_thumbnail(item),
            stage=item.stage.value,
            percent=round(item.progress * 100),
            elapsed_seconds=seconds_since(item.started_at, now),
            duration=item.duration,
            attempt=item.attempts,
        )
        for item in items
        if item.status is ItemStatus.RUNNING
    ]


def _thumbnail(item: Item) -> str | None:
    value = item.metadata.get("thumbnail") or item.metadata.get("thumbnail_url")
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


# How the runner logs an item another live session is transcribing (runner.py, _wait_for).
_WAITING_FOR = re.compile(r"session (\S+) is transcribing it now")
_TITLES_NAMED = 5


@dataclass(frozen=True)
class Waiting:
    title: str
    session_id: str  # the session transcribing it


def waiting_elsewhere(items: list[Item], events: Sequence[Event]) -> list[Waiting]:
    """Queued items this session waits for, because another live session is transcribing
    them (the runner logs each such wait); their transcripts are linked when done."""
    other: dict[int, str] = {}
    for event in events:
        found = _WAITING_FOR.search(event.message) if event.kind == "waiting" else None
        if found and event.item_id is not None:
            other[event.item_id] = found.group(1)
    return [
        Waiting(item.display_title, other[item.id])
        for item in items
        if item.status is ItemStatus.QUEUED and item.id in other
    ]


def render_now_processing(cards: list[InFlight], waiting: Sequence[Waiting] = ()) -> None:
    if waiting:
        _render_waiting(waiting)
    if not cards:
        if not waiting:
            st.caption("Nothing in flight right now.")
        return
    shown = cards[:MAX_CARDS]
    for start in range(0, len(shown), CARDS_PER_ROW):
        columns = st.columns(CARDS_PER_ROW)
        for column, card in zip(columns, shown[start : start + CARDS_PER_ROW], strict=False):
            with column:
                _render_card(card)
    if len(cards) > MAX_CARDS:
        st.caption(f"…and {len(cards) - MAX_CARDS} more in the status table.")


def _render_card(card: InFlight) -> None:
    with st.container(border=True, key=f"now-item-{card.item_id}"):
        if card.thumbnail:
            st.image(card.thumbnail, width="stretch")
        st.markdown(f"**#{card.position} · {card.title}**")
        audio = f" of {clock(card.duration)}" if card.duration else ""
        retry = f" · attempt {card.attempt}" if card.attempt > 1 else ""
        if card.percent > 0:
            st.markdown(f"{card.stage} · **{card.percent} %**{audio}")
            st.progress(card.percent / 100)
        else:
            # Short items report no progress until they are done: say what is known (the
            # stage and the time spent) instead of a bar stuck at 0 %.
            length = f" · {clock(card.duration)} of audio" if card.duration else ""
            st.markdown(f"{card.stage} · working…{length}")
            st.progress(0.0, text="no progress reported yet")
        st.caption(f":material/timer: {elapsed(card.elapsed_seconds)}{retry}")


def _render_waiting(waiting: Sequence[Waiting]) -> None:
    """Without this, a session waiting for another one's work looks stuck: running, its
    items queued, nothing in flight."""
    sessions = ", ".join(f"`{sid}`" for sid in dict.fromkeys(w.session_id for w in waiting))
    titles = ", ".join(w.title for w in waiting[:_TITLES_NAMED])
    more = "…" if len(waiting) > _TITLES_NAMED else ""
    st.info(
        f"**Waiting for another session:** {counted(len(waiting), 'item')} ({titles}{more}) "
        f"{'is' if len(waiting) == 1 else 'are'} being transcribed by session {sessions} right "
        "now. This session links those transcripts when they are done instead of transcribing "
        "them twice (and transcribes them itself should that session stop).",
        icon=":material/hourglass_top:",
    )
