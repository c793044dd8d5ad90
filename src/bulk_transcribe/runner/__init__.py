"""Running sessions: create one from ingested items, then work through its queue.

Names are imported on first use (PEP 562): a view that only asks whether a session's owner is
alive (`runner.ownership`) does not load the coordinator, the engines and the outputs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Runner", "SessionBusy", "create_session", "session_links", "write_outputs_index"]
_HOMES = {
    "Runner": "runner",
    "SessionBusy": "ownership",
    "create_session": "session",
    "session_links": "session",
    "write_outputs_index": "index",
}

if TYPE_CHECKING:
    from bulk_transcribe.runner.index import write_outputs_index
    from bulk_transcribe.runner.ownership import SessionBusy
    from bulk_transcribe.runner.runner import Runner
    from bulk_transcribe.runner.session import create_session, session_links


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
