"""Remembered choices as widget defaults, never as values set through session state.

Seeded into session state, a widget was first drawn with its own empty default (no formats,
parallel off, language "") and, under load, a rerun the browser sent before it took the
seeded value carried that empty value back as the user's. A default the browser draws from
the start has nothing to carry back. Widgets key on their `key` alone (Streamlit 1.67), so a
changed default never resets what the user chose in a tab.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st


def keep_if_allowed(key: str, allowed: Sequence[str]) -> None:
    """Forget a widget's value that is no longer one of its options (an engine not
    installed, a provider of the other engine), so it starts again from its default.
    Dropped rather than overwritten: a value set through session state beside a default
    draws Streamlit's warning on the page."""
    if key in st.session_state and st.session_state[key] not in allowed:
        del st.session_state[key]


def index_of(value: str, options: Sequence[str]) -> int:
    """A selectbox's default: the remembered value's place, else the first option."""
    return options.index(value) if value in options else 0


def remembered_select(
    where: Any, label: str, options: Sequence[str], remembered: str, key: str, **widget: Any
) -> Any:
    """A selectbox in `where` (a column, or `st`) whose default is the remembered choice,
    a stale value in its key forgotten first (keep_if_allowed)."""
    keep_if_allowed(key, options)
    return where.selectbox(label, options, index=index_of(remembered, options), key=key, **widget)
