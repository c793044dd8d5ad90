"""Summaries with a chat server on 127.0.0.1 that records every prompt: one request for a short
transcript, parts and a combining request for a long one, chapter times checked against the
part they came from, every request inside the endpoint's budget."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bulk_transcribe.chat.client import ChatClient
from bulk_transcribe.chat.summaries import Summarizer, SummaryFailed, split_parts
from bulk_transcribe.models import Chapter, Segment, Transcript
from bulk_transcribe.settings import Settings
from tests.fakes.chat_server import FakeChatServer


def transcript(lines: int, words: int = 8) -> Transcript:
    segments = [
        Segment(n * 10.0, n * 10.0 + 9.0, f"Line {n} " + " ".join(["talk"] * words))
        for n in range(lines)
    ]
    return Transcript(segments, "en", lines * 10.0, "scripted", "script", "scripted")


def answer_from_prompt(messages: list[dict[str, Any]]) -> str:
    """Like a model that reads its part: a chapter at the part's first and last line, one at
    a time the part does not contain, and one combined summary when asked to combine."""
    text = messages[-1]["content"]
    if "Part 1:" in text:
        parts = re.findall(r"Part (\d+):", text)
        return json.dumps({"summary": f"Whole talk in {len(parts)} parts.", "key_points": ["a"]})
    times = [int(t) for t in re.findall(r"^\[(\d+)\]", text, re.MULTILINE)]
    return json.dumps(
        {
            "summary": f"Lines from {times[0]} s.",
            "key_points": ["First point", "First point", " Second   point "],
            "chapters": [
                {"start": times[0], "title": f"Opening at {times[0]}"},
                {"start": times[-1] + 0.4, "title": "Near the end"},
                {"start": 99_999, "title": "Invented"},
            ],
        }
    )


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer(default=answer_from_prompt) as running:
        yield running


def chat(server: FakeChatServer, tmp_path: Path, **values: Any) -> ChatClient:
    return ChatClient(
        Settings(
            chat_api_base=server.base_url,
            chat_model="test-model",
            chat_timeout_seconds=20,
            rate_limit_db=tmp_path / "budgets.sqlite",
            **values,
        )
    )


def test_a_short_transcript_is_summarised_in_one_request(
    server: FakeChatServer, tmp_path: Path
) -> None:
    with chat(server, tmp_path) as client:
        summary = Summarizer(client).summarize("Talk", transcript(5))
    (body,) = server.bodies
    prompt = body["messages"][-1]["content"]
    assert prompt.startswith("Title: Talk\n\n[0] Line 0 talk")
    assert "[40] Line 4" in prompt
    assert summary.text == "Lines from 0 s." and summary.parts == 1
    assert summary.key_points == ["First point", "Second point"]
    # the invented time is dropped; the others land on the line they name
    assert summary.chapters == [Chapter(0.0, "Opening at 0"), Chapter(40.0, "Near the end")]
    assert summary.model == "test-model"


def test_a_long_transcript_is_summarised_in_parts_then_combined(
    server: FakeChatServer, tmp_path: Path
) -> None:
    long = transcript(60, words=20)  # about 6,600 characters
    with chat(server, tmp_path) as client:
        summary = Summarizer(client, part_chars=2000).summarize("Talk", long)
    parts = split_parts(long.segments, 2000)
    assert len(parts) == 4
    assert len(server.bodies) == len(parts) + 1
    for body in server.bodies[: len(parts)]:
        lines = body["messages"][-1]["content"].split("\n\n", 1)[1]
        assert len(lines) <= 2000
    assert "Part 4: Lines from" in server.bodies[-1]["messages"][-1]["content"]
    assert summary.text == "Whole talk in 4 parts." and summary.parts == 4
    starts = [c.start for c in summary.chapters]
    assert starts == sorted(starts) and len(starts) == 8  # two per part, none invented
    assert starts[0] == 0.0 and starts[-1] == 590.0


def test_a_model_that_keeps_failing_gives_no_summary(
    server: FakeChatServer, tmp_path: Path
) -> None:
    server.inject("500", "500")
    with chat(server, tmp_path) as client, pytest.raises(SummaryFailed, match="answered 500"):
        Summarizer(client).summarize("Talk", transcript(3))


def test_every_request_stays_inside_the_endpoints_budget(tmp_path: Path) -> None:
    with FakeChatServer(default=answer_from_prompt, rpm=4, window_seconds=1.0) as limited:
        long = transcript(60, words=20)
        with chat(limited, tmp_path, chat_rpm=4, rate_window_seconds=1.0) as client:
            summary = Summarizer(client, part_chars=1000).summarize("Talk", long)
        assert summary.parts > 4
        assert limited.status_counts[429] == 0
        assert len(limited.bodies) == summary.parts + 1
