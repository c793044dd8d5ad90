"""Data classes that cross the boundaries between ingest, sources, engines, runner and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class SourceType(StrEnum):
    LOCAL_FILE = "local_file"
    HTTP_MEDIA = "http_media"
    YOUTUBE = "youtube"
    PODCAST_FEED = "podcast_feed"
    WEB_PAGE = "web_page"

    @property
    def is_remote(self) -> bool:
        return self is not SourceType.LOCAL_FILE


# An item's metadata flag: transcribed, and nothing was said (a silent file, music only).
NO_SPEECH = "no_speech"


class ItemStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def finished(self) -> bool:
        return self in (ItemStatus.DONE, ItemStatus.FAILED, ItemStatus.SKIPPED)


class Stage(StrEnum):
    """Where an item is in its pipeline; shown live by the CLI and the web app."""

    QUEUED = "queued"
    FETCHING = "fetching"
    WAITING_RATE_LIMIT = "waiting for rate limit"
    TRANSCRIBING = "transcribing"
    WRITING = "writing"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class SessionStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"  # interrupted on purpose or by a crash; resumable
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # every item finished (some may have failed)


class SessionCommand(StrEnum):
    """What a view asks a running session to do; the runner polls for it."""

    STOP = "stop"  # finish what is running, start nothing new
    CANCEL = "cancel"  # abort now


@dataclass(frozen=True)
class ItemSpec:
    """One thing to transcribe, as ingest understood it."""

    source: str  # normalised: absolute path for files, URL for the rest
    source_type: SourceType
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None  # where it came from, e.g. "links.csv row 4"

    def __hash__(self) -> int:  # metadata is a dict; identity is the source
        return hash((self.source, self.source_type))


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    speaker: int | None = None  # 1, 2, ... when speaker labels were asked for


@dataclass
class Transcript:
    segments: list[Segment]
    language: str | None
    duration: float | None
    engine: str
    model: str
    method: str  # e.g. "local_whisper", "captions_manual", "openai_api"
    timing_estimated: bool = False  # True when segment times were guessed, not measured
    # How it was decoded (beam, batch size, compute type, ...), recorded in each note, as
    # faster-whisper's TranscriptionInfo records its options.
    decoding: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def is_empty(self) -> bool:
        return not self.text


@dataclass(frozen=True)
class MediaFile:
    """Audio or video on local disk, ready for an engine."""

    path: Path
    duration: float | None = None


@dataclass(frozen=True)
class Fetched:
    """What a source hands the runner: media for an engine, or a ready transcript (captions)."""

    media: MediaFile | None = None
    transcript: Transcript | None = None
    remote_url: str | None = None  # for engines that fetch the media themselves
    title: str | None = None
    duration: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TranscribeOptions:
    language: str | None = None  # None means detect
    # Whether any output shows times (subtitles, timed paragraphs, JSON): word-level times
    # cost an extra pass of the model that a plain-text-only session never uses.
    word_times: bool = True
    # Vocabulary hints: names and terms the model should spell as given (Whisper's prompt);
    # hotwords are the local model's stronger form of the same.
    prompt: str | None = None
    hotwords: str | None = None


@dataclass
class Item:
    """An item as the store holds it."""

    id: int
    session_id: str
    position: int
    key: str  # short stable id, part of output file names
    source: str
    source_type: SourceType
    title: str | None
    metadata: dict[str, Any]
    origin: str | None
    status: ItemStatus
    stage: Stage
    progress: float  # 0..1 of the audio transcribed
    duration: float | None
    method: str | None
    language: str | None
    attempts: int
    error_kind: str | None
    error_message: str | None
    outputs: list[str]
    started_at: str | None
    finished_at: str | None
    updated_at: str | None

    @property
    def display_title(self) -> str:
        return self.title or self.source.rsplit("/", 1)[-1] or self.source

    @property
    def status_text(self) -> str:
        """The status in words: "done — no speech" when nothing was heard."""
        if self.status is ItemStatus.DONE and self.metadata.get(NO_SPEECH):
            return "done — no speech"
        return self.status.value


@dataclass(frozen=True)
class Owner:
    """The one process allowed to run a session right now, as the store records it."""

    id: str
    host: str
    pid: int
    heartbeat_at: float  # Unix time of its last sign of life
    # The kernel it runs on and the pid namespace it sees (boot id / namespace): where its
    # pid means something. Empty for owners recorded before it was kept.
    machine: str = ""
    started: float = 0.0  # its process's start time: a reused pid has another
    generation: int = 0  # raised at every claim; a runner writes only under its own

    def heartbeat_age(self, now: float) -> float:
        return max(0.0, now - self.heartbeat_at)


@dataclass
class Session:
    id: str
    created_at: str
    updated_at: str
    status: SessionStatus
    out_dir: Path
    settings: dict[str, Any]
    command: SessionCommand | None
    owner: Owner | None = None

    @property
    def folder(self) -> Path:
        return self.out_dir / "sessions" / self.id


@dataclass
class SessionCounts:
    total: int = 0
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    audio_seconds_total: float = 0.0
    audio_seconds_done: float = 0.0  # processed: done, failed or skipped, and running parts
    audio_seconds_transcribed: float = 0.0  # only what was transcribed (done items)
    unknown_lengths_left: int = 0  # queued or running items whose length is not known yet
    running_progress: float = 0.0  # the running items' progress added up (0.5 + 0.2 ...)

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped


MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class InvalidEntry:
    """One entry ingest could not turn into an item, with where it was and why."""

    origin: str  # e.g. "links.csv row 4", "links.txt line 7", "argument 2"
    value: str
    reason: str

    def __post_init__(self) -> None:
        # A pasted essay in a cell should not flood the report.
        if len(self.value) > MAX_VALUE_CHARS:
            object.__setattr__(self, "value", self.value[: MAX_VALUE_CHARS - 1] + "…")


# One entry of the input, understood or not.
Entry = ItemSpec | InvalidEntry


@dataclass(frozen=True)
class Chapter:
    start: float  # seconds into the recording
    title: str


@dataclass(frozen=True)
class Summary:
    """What a chat model made of a transcript: a summary, key points and chapters."""

    text: str
    key_points: list[str]
    chapters: list[Chapter]
    model: str
    parts: int = 1  # how many parts the transcript was read in

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "key_points": list(self.key_points),
            "chapters": [{"start": c.start, "title": c.title} for c in self.chapters],
            "model": self.model,
            "parts": self.parts,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Summary:
        return cls(
            text=data["text"],
            key_points=list(data.get("key_points") or []),
            chapters=[Chapter(float(c["start"]), c["title"]) for c in data.get("chapters") or []],
            model=data.get("model", ""),
            parts=int(data.get("parts", 1)),
        )
