"""The Now processing panel: one card per item in flight, however many run at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from bulk_transcribe.models import Item, ItemStatus
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


def render_now_processing(cards: list[InFlight]) -> None:
    if not cards:
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
