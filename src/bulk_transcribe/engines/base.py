"""The narrow interface between the runner and every speech-to-text backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bulk_transcribe.models import MediaFile, TranscribeOptions, Transcript

# Called with the fraction (0..1) of the audio transcribed so far. It may raise
# `Cancelled` to abort the transcription; engines must let that propagate.
ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class EngineJob:
    """What an engine gets to know about, and may report on, the item it is working on."""

    options: TranscribeOptions
    on_progress: ProgressCallback
    # A provider's request id, stored the moment it is known, so a resumed session can poll
    # the existing request instead of submitting (and paying for) it again.
    saved_request_id: Callable[[], str | None] = lambda: None
    save_request_id: Callable[[str], None] = lambda _request_id: None
    source_url: str | None = None  # the item's original URL, for providers that fetch media


class Engine(Protocol):
    name: str  # e.g. "local", "openai", "deapi"
    model: str  # the model as the user knows it

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        """Turn one media file into a transcript; raise TranscribeError subclasses on failure."""
        ...
