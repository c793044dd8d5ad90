"""Process-wide resources every tab shares: one store for views, the runs, the session cache."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bulk_transcribe.store import Store
from bulk_transcribe.web.state.runs import DetachedRuns, Runs
from bulk_transcribe.web.state.snapshot import Snapshots


@st.cache_resource(show_spinner=False)
def view_store(db_path: str) -> Store:
    """The store pages read from; runners write through their own connection (SQLite WAL)."""
    return Store(Path(db_path))


@st.cache_resource(show_spinner=False)
def session_runs(db_path: str) -> Runs:
    """Who runs sessions: jobs in processes of their own, seen through the store."""
    return DetachedRuns(view_store(db_path))


@st.cache_resource(show_spinner=False)
def snapshots(db_path: str) -> Snapshots:
    """One cached read of each watched session, shared by every tab."""
    return Snapshots(view_store(db_path))
