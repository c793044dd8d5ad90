"""What every page starts with: page config, styling, the sidebar and the shared resources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from bulk_transcribe.settings import Settings, describe_invalid
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.accounts import render_accounts
from bulk_transcribe.web.panels.running_now import render_running_now
from bulk_transcribe.web.panels.sign_in import require_sign_in
from bulk_transcribe.web.state.connection import with_connection
from bulk_transcribe.web.state.resources import session_runs, snapshots, view_store
from bulk_transcribe.web.state.runs import Runs
from bulk_transcribe.web.state.snapshot import Snapshots

OUT_DIR_KEY = "out_dir"
# Streamlit's own page list would call the Home page "app"; this one names it properly
# (.streamlit/config.toml turns the built-in list off).
NAVIGATION = (
    ("app.py", "Home", ":material/home:"),
    ("pages/02_Bulk_Transcribe.py", "Bulk Transcribe", ":material/graphic_eq:"),
    ("pages/03_Sessions.py", "Sessions", ":material/folder_open:"),
    ("pages/04_Find_Videos.py", "Find videos", ":material/travel_explore:"),
    ("pages/05_Search_Transcripts.py", "Search transcripts", ":material/manage_search:"),
    ("pages/06_Following.py", "Following", ":material/rss_feed:"),
    ("pages/07_Settings.py", "Settings", ":material/settings:"),
)

_CSS = """
<style>
  [data-testid="stMetricValue"] { font-size: 1.6rem; }
  [data-testid="stMetricLabel"] p { font-size: 0.85rem; opacity: 0.75; }
  .block-container { padding-top: 2.2rem; max-width: 1300px; }
  [class*="st-key-now-item-"] { background: rgba(99, 102, 241, 0.04); }
</style>
"""


@dataclass(frozen=True)
class AppContext:
    settings: Settings  # the environment's settings with the output folder chosen here
    store: Store
    runs: Runs  # starts sessions and says whether someone works on one
    snapshots: Snapshots  # cached reads of watched sessions, shared by every tab


def page_setup(title: str, icon: str = ":material/graphic_eq:") -> AppContext:
    st.set_page_config(page_title=f"{title} · Bulk Transcribe", page_icon=icon, layout="wide")
    st.markdown(_CSS, unsafe_allow_html=True)
    try:
        environment = Settings()
    except ValidationError as exc:
        st.error(f"The BULK_TRANSCRIBE_* environment or .env is not valid: {describe_invalid(exc)}")
        st.stop()
    require_sign_in(environment)  # a shared app shows nothing else until signed in
    settings = with_connection(_sidebar(environment))  # the Settings page's proxy, cookies
    db_path = str(settings.database.resolve())
    ctx = AppContext(
        settings=settings,
        store=view_store(db_path),
        runs=session_runs(db_path),
        snapshots=snapshots(db_path),
    )
    with st.sidebar:
        render_running_now(ctx.store, ctx.runs)
        render_accounts(settings)
    return ctx


def _sidebar(environment: Settings) -> Settings:
    # A plain session-state value backs the widget, so it survives switching pages.
    st.session_state.setdefault(OUT_DIR_KEY, str(environment.out_dir))
    with st.sidebar:
        for page, label, icon in NAVIGATION:
            st.page_link(page, label=label, icon=icon)
        st.divider()
        if environment.public_addresses_only:
            # A shared app writes where its operator said (`--out`): a visitor does not
            # choose folders of the server.
            return environment
        chosen = st.text_input(
            "Output folder",
            value=st.session_state[OUT_DIR_KEY],
            help="Transcripts go to <folder>/sessions/<session>; the session database lives "
            "here too. Default: BULK_TRANSCRIBE_OUT_DIR or ./output.",
        )
        st.session_state[OUT_DIR_KEY] = chosen.strip() or str(environment.out_dir)
        # "~/notes" is the user's folder, as in a terminal, not a folder named "~" in the
        # server's working folder.
        chosen_dir = Path(st.session_state[OUT_DIR_KEY]).expanduser()
        settings = environment.model_copy(update={"out_dir": chosen_dir})
        st.caption(f"Database: `{settings.database.resolve()}`")
    return settings
