"""Finding videos to transcribe, and asking what was transcribed, as the views ask for it:
YouTube search (the Data API or yt-dlp), a chat model's plan and scores, marking what the
store already holds, the list written out for `run`; answers from the passages found, each
sentence citing its moments.

The query's types load with the CLI (its options are made of them); the searching itself,
with its HTTP and yt-dlp stacks, on first use (PEP 562), so other commands start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bulk_transcribe.research.candidates import Candidate, Order, VideoQuery

if TYPE_CHECKING:
    from bulk_transcribe.chat.answers import Answer, Passage, ask
    from bulk_transcribe.chat.client import chat_configured
    from bulk_transcribe.research.export import csv_text, json_text, write_list
    from bulk_transcribe.research.finder import backend_name, mark_transcribed
    from bulk_transcribe.research.gather import ChatNotConfigured, Gathered, gather

_HOME = {
    "Answer": "chat.answers",
    "Passage": "chat.answers",
    "ask": "chat.answers",
    "chat_configured": "chat.client",
    "csv_text": "export",
    "json_text": "export",
    "write_list": "export",
    "backend_name": "finder",
    "mark_transcribed": "finder",
    "ChatNotConfigured": "gather",
    "Gathered": "gather",
    "gather": "gather",
}

__all__ = [
    "Answer",
    "Candidate",
    "ChatNotConfigured",
    "Gathered",
    "Order",
    "Passage",
    "VideoQuery",
    "ask",
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
        home = _HOME[name]
        module = f"bulk_transcribe.{home}" if "." in home else f"bulk_transcribe.research.{home}"
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
