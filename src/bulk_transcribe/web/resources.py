"""Process-wide resources every tab shares: one store for views and one job manager."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bulk_transcribe.store import Store
from bulk_transcribe.web.jobs import JobManager


@st.cache_resource(show_spinner=False)
def view_store(db_path: str) -> Store:
    """The store pages read from; runners write through their own connection (SQLite WAL)."""
    return Store(Path(db_path))


@st.cache_resource(show_spinner=False)
def job_manager(db_path: str) -> JobManager:
    """The singleton that owns background runs: it outlives reruns, refreshes and tabs."""
    return JobManager(Store(Path(db_path)))
