"""The narrow interface between the runner and every speech-to-text backend."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import MediaFile, TranscribeOptions, Transcript

if TYPE_CHECKING:
    from bulk_transcribe.engines.presets import ProviderConfig

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
    # Pieces of a long item transcribed by an earlier attempt (key -> the engine's JSON), and
    # how to keep a new one the moment it is paid for: retries upload only what is missing.
    saved_chunks: Mapping[str, str] = field(default_factory=dict)
    save_chunk: Callable[[str, str], None] = lambda _key, _result: None


class Engine(Protocol):
    """Everything the runner may ask of a backend; nothing is optional or probed for.

    Whoever creates an engine closes it (it may hold a model, HTTP clients, threads).
    """

    name: str  # e.g. "local", "openai", "deapi"
    model: str  # the model as the user knows it
    accepts_urls: bool  # takes a media URL itself (transcribe_url), e.g. DEAPI's vid2txt
    # The cloud provider whose limits apply to this engine's requests; None for local work.
    provider: ProviderConfig | None
    decoding: dict[str, Any]  # how it decodes (beam, batch size, ...), recorded in each note
    # How many items it can keep busy at once on its own; with fewer running, the runner
    # hands it the next items ahead of their turn (1: only what runs).
    items_at_once: int
    # The provider's model names as its preflight found them; None: it offers no list.
    offered_models: tuple[str, ...] | None

    def warm_up(self) -> None:
        """Load what the first item would otherwise wait for (a model, an SDK)."""
        ...

    def preflight(self, audio_seconds: float | None) -> list[str]:
        """Lines to show before a run (balance, price estimate); raise TranscribeError to stop."""
        ...

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        """Turn one media file into a transcript; raise TranscribeError subclasses on failure."""
        ...

    def transcribe_url(self, url: str, job: EngineJob) -> Transcript:
        """Transcribe media the provider fetches itself (only when `accepts_urls`)."""
        ...

    def close(self) -> None:
        """Let go of models, clients and threads."""
        ...


class EngineBase:
    """The defaults most engines share: local, no preflight, nothing to warm up or close."""

    name: ClassVar[str]
    model: str
    accepts_urls: ClassVar[bool] = False
    provider: ProviderConfig | None = None
    items_at_once: int = 1
    offered_models: tuple[str, ...] | None = None

    @property
    def decoding(self) -> dict[str, Any]:
        return {}

    def warm_up(self) -> None:
        return None

    def preflight(self, audio_seconds: float | None) -> list[str]:
        return []

    def transcribe_url(self, url: str, job: EngineJob) -> Transcript:
        raise PermanentError(
            ErrorKind.UNSUPPORTED, f"the {self.name} engine cannot fetch media from a link"
        )

    def close(self) -> None:
        return None
