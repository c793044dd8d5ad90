"""The one service layer both front doors call: what it means to start, run, resume, stop,
cancel, retry, export and launch a session is written here once (sessions.py), and so is
reading inputs (inputs.py), choosing engines and providers (providers.py), finding videos
(research.py), and searching what was transcribed or what the download cache holds
(library.py).

The CLI and the web app act only through here; they read the store and import nothing else
below this layer (tests/test_architecture.py checks it).

Names are imported on first use (PEP 562): `bulk-transcribe run` starts loading the speech
model before the runner, sources and outputs are imported, so the two overlap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [  # noqa: RUF022 (sessions.py's names, library.py's, owners.py's)
    "LAUNCH_WAIT_SECONDS",
    "ExportResult",
    "Runner",
    "SessionBusy",
    "SummarizeResult",
    "check_summary_settings",
    "create_session",
    "export_session",
    "handed_links",
    "is_alive",
    "launch_detached",
    "liveness",
    "open_run",
    "request_cancel",
    "request_stop",
    "resume_settings",
    "resume_with_changes",
    "resume_with_model",
    "retry_failed",
    "run_session",
    "session_links",
    "start_session",
    "summarize_session",
    "CacheUsage",
    "cache_usage",
    "clear_cache",
    "items_list",
    "open_search_index",
    "INTERRUPTED_ITEM",
    "item_status_text",
]
_FROM_LIBRARY = frozenset(
    {"CacheUsage", "cache_usage", "clear_cache", "items_list", "open_search_index"}
)
# Light: `status` needs no runner.
_FROM_OWNERS = frozenset({"INTERRUPTED_ITEM", "is_alive", "item_status_text", "liveness"})
_PARTS = ("inputs", "keys", "library", "owners", "providers", "research", "sessions")

if TYPE_CHECKING:
    from bulk_transcribe.service.library import (
        CacheUsage,
        cache_usage,
        clear_cache,
        items_list,
        open_search_index,
    )
    from bulk_transcribe.service.owners import INTERRUPTED_ITEM, item_status_text
    from bulk_transcribe.service.sessions import (
        LAUNCH_WAIT_SECONDS,
        ExportResult,
        Runner,
        SessionBusy,
        SummarizeResult,
        check_summary_settings,
        create_session,
        export_session,
        handed_links,
        is_alive,
        launch_detached,
        liveness,
        open_run,
        request_cancel,
        request_stop,
        resume_settings,
        resume_with_changes,
        resume_with_model,
        retry_failed,
        run_session,
        session_links,
        start_session,
        summarize_session,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        part = "sessions"
        if name in _FROM_LIBRARY:
            part = "library"
        elif name in _FROM_OWNERS:
            part = "owners"
        return getattr(importlib.import_module(f"{__name__}.{part}"), name)
    if name in _PARTS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
