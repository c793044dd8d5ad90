"""The narrow interface between the runner and every speech-to-text backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bulk_transcribe.models import MediaFile, TranscribeOptions, Transcript

# Called with the fraction (0..1) of the audio transcribed so far. It may raise
# `Cancelled` to abort the transcription; engines must let that propagate.
ProgressCallback = Callable[[float], None]


class Engine(Protocol):
    name: str  # e.g. "local", "openai", "deapi"
    model: str  # the model as the user knows it

    def transcribe(
        self, media: MediaFile, options: TranscribeOptions, on_progress: ProgressCallback
    ) -> Transcript:
        """Turn one media file into a transcript; raise TranscribeError subclasses on failure."""
        ...
