"""A video found by a search, what a search asks for, and the filters both backends share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from bulk_transcribe.errors import ErrorKind, PermanentError

MAX_RESULTS = 500


class Order(StrEnum):
    RELEVANCE = "relevance"
    DATE = "date"
    VIEWS = "views"


@dataclass(frozen=True)
class VideoQuery:
    text: str
    limit: int = 20
    min_duration: float | None = None  # seconds
    max_duration: float | None = None
    after: date | None = None  # published on or after
    order: Order = Order.RELEVANCE

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise PermanentError(ErrorKind.INVALID_INPUT, "type what to search for")
        if not 1 <= self.limit <= MAX_RESULTS:
            raise PermanentError(
                ErrorKind.INVALID_INPUT, f"--limit must be between 1 and {MAX_RESULTS}"
            )
        low, high = self.min_duration, self.max_duration
        if low is not None and high is not None and low > high:
            raise PermanentError(
                ErrorKind.INVALID_INPUT, "the shortest duration is longer than the longest"
            )

    def accepts(self, video: Candidate) -> bool:
        """Whether a found video passes the filters; unknown values pass (never drop blindly)."""
        if video.duration is not None:
            if self.min_duration is not None and video.duration < self.min_duration:
                return False
            if self.max_duration is not None and video.duration > self.max_duration:
                return False
        return not (self.after and video.published and video.published < self.after)


@dataclass(frozen=True)
class Candidate:
    """One video a search found, with what the results table shows about it."""

    video_id: str
    url: str
    title: str
    channel: str | None = None
    duration: float | None = None  # seconds
    published: date | None = None
    published_approximate: bool = False  # from "3 weeks ago" (yt-dlp without a key)
    views: int | None = None
    captions: bool | None = None  # None: the backend cannot tell
    thumbnail: str | None = None
    description: str | None = None
    found_by: str = ""  # the query that found it
    transcribed: bool = False  # done in an earlier session of this store
    relevance: float | None = None  # 0..1 from the relevance filter, None: not scored
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """What a transcript's frontmatter carries about the video (yt-dlp's names)."""
        values = {
            "video_id": self.video_id,
            "channel": self.channel,
            "upload_date": self.published.isoformat() if self.published else None,
            "view_count": self.views,
            "has_captions": self.captions,
            "thumbnail": self.thumbnail,
            "search_query": self.found_by or None,
            "relevance": self.relevance,
            "relevance_reason": self.reason,
        }
        return {k: v for k, v in values.items() if v is not None}


def take(videos: Iterator[Candidate], query: VideoQuery) -> list[Candidate]:
    """The first `query.limit` videos that pass the filters, each video once."""
    kept: list[Candidate] = []
    seen: set[str] = set()
    for video in videos:
        if video.video_id in seen or not query.accepts(video):
            continue
        seen.add(video.video_id)
        kept.append(replace(video, found_by=video.found_by or query.text))
        if len(kept) >= query.limit:
            break
    return kept
