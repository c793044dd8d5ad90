"""Finding videos to transcribe, as the views ask for it: YouTube search (the Data API or
yt-dlp), a chat model's plan and scores, marking what the store already holds, and the list
written out for `run`.

The query's types load with the CLI (its options are made of them); the searching itself,
with its HTTP and yt-dlp stacks, on first use (PEP 562), so other commands start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bulk_transcribe.research.candidates import Candidate, Order, VideoQuery

if TYPE_CHECKING:
    from bulk_transcribe.research.export import csv_text, json_text, write_list
    from bulk_transcribe.research.finder import backend_name, mark_transcribed
    from bulk_transcribe.research.gather import ChatNotConfigured, Gathered, gather
    from bulk_transcribe.research.planner import chat_configured

_HOME = {
    "csv_text": "export",
    "json_text": "export",
    "write_list": "export",
    "backend_name": "finder",
    "mark_transcribed": "finder",
    "ChatNotConfigured": "gather",
    "Gathered": "gather",
    "gather": "gather",
    "chat_configured": "planner",
}

__all__ = [
    "Candidate",
    "ChatNotConfigured",
    "Gathered",
    "Order",
    "VideoQuery",
    "backend_name",
    "chat_configured",
    "csv_text",
    "gather",
    "json_text",
    "mark_transcribed",
    "write_list",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"bulk_transcribe.research.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
