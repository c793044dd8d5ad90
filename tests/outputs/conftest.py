"""Factories for the Items, Transcripts and Sessions the outputs tests write from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bulk_transcribe.models import (
    Item,
    ItemStatus,
    Segment,
    Session,
    SessionStatus,
    SourceType,
    Stage,
    Transcript,
)

SAMPLE_SENTENCES = [
    "Welcome back to the show.",
    "Today we talk about rivers, maps and the people who drew them.",
    "It is a long story, so let us begin at the start!",
    "Why do rivers bend?",
    "Nobody quite agreed for a very long time.",
]


def _item(**overrides: Any) -> Item:
    fields: dict[str, Any] = {
        "id": 1,
        "session_id": "s1",
        "position": 1,
        "key": "a1b2c3d4",
        "source": "https://example.com/watch?v=abc",
        "source_type": SourceType.YOUTUBE,
        "title": "A talk about rivers",
        "metadata": {},
        "origin": "links.txt line 1",
        "status": ItemStatus.DONE,
        "stage": Stage.DONE,
        "progress": 1.0,
        "duration": 62.345,
        "method": "local_whisper",
        "language": "en",
        "attempts": 1,
        "error_kind": None,
        "error_message": None,
        "outputs": [],
        "started_at": "2024-05-01T10:00:00Z",
        "finished_at": "2024-05-01T10:01:00Z",
        "updated_at": "2024-05-01T10:01:00Z",
    }
    fields.update(overrides)
    return Item(**fields)


def _transcript(
    texts: list[str] | None = None,
    *,
    segments: list[Segment] | None = None,
    seconds_each: float = 3.0,
    gap: float = 0.5,
    **overrides: Any,
) -> Transcript:
    """Segments one after another, `seconds_each` long with `gap` between them."""
    if segments is None:
        texts = SAMPLE_SENTENCES if texts is None else texts
        segments = []
        for index, text in enumerate(texts):
            start = index * (seconds_each + gap)
            segments.append(Segment(start, start + seconds_each, text))
    fields: dict[str, Any] = {
        "segments": segments,
        "language": "en",
        "duration": segments[-1].end if segments else None,
        "engine": "local",
        "model": "tiny.en",
        "method": "local_whisper",
    }
    fields.update(overrides)
    return Transcript(**fields)


@pytest.fixture
def make_item() -> Callable[..., Item]:
    return _item


@pytest.fixture
def make_transcript() -> Callable[..., Transcript]:
    return _transcript


@pytest.fixture
def make_session(tmp_path: Path) -> Callable[..., Session]:
    def factory(**overrides: Any) -> Session:
        fields: dict[str, Any] = {
            "id": "20240501-abcd",
            "created_at": "2024-05-01T10:00:00Z",
            "updated_at": "2024-05-01T10:05:00Z",
            "status": SessionStatus.COMPLETED,
            "out_dir": tmp_path / "out",
            "settings": {"formats": ["md", "srt"], "engine": "local"},
            "command": None,
        }
        fields.update(overrides)
        return Session(**fields)

    return factory
