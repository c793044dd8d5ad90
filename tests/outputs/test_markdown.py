"""Markdown notes: front matter that round-trips through YAML, and readable paragraphs."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from bulk_transcribe.models import Item, Segment, SourceType, Transcript
from bulk_transcribe.outputs import build_frontmatter, render_markdown

WHEN = datetime(2024, 5, 1, 12, 30, 45, tzinfo=UTC)

NASTY_TITLES = [
    "Key: value # not a comment",
    'She said "hi" and it\'s fine',
    "---",
    "--- leading dashes",
    "line one\nline two",
    "...",
    "- looks like a list",
    "[looks, like, a, list]",
    "{looks: like a map}",
    "&anchor *alias !tag %directive @at `tick`",
    "yes",
    "null",
    "1.0",
    "2024-05-01",
    "Ünïcödé 日本語 🎙️ emoji",
    "  padded  ",
    "tab\tinside",
    "|",
    ">",
]


def _split(markdown: str) -> tuple[dict[str, Any], str]:
    assert markdown.startswith("---\n")
    header, separator, body = markdown[4:].partition("\n---\n")
    assert separator, "front matter must be closed by a line of three dashes"
    return yaml.safe_load(header), body


def _frontmatter(item: Item, transcript: Transcript, **kwargs: Any) -> dict[str, Any]:
    return build_frontmatter(
        item=item, transcript=transcript, session_id="sess-1", transcribed_at=WHEN, **kwargs
    )


def test_frontmatter_keys_in_order(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    transcript = make_transcript(duration=62.345)
    frontmatter = _frontmatter(make_item(), transcript)
    assert frontmatter == {
        "title": "A talk about rivers",
        "source": "https://example.com/watch?v=abc",
        "source_type": "youtube",
        "duration_seconds": 62.3,
        "language": "en",
        "engine": "local",
        "model": "tiny.en",
        "method": "local_whisper",
        "transcribed_at": "2024-05-01T12:30:45Z",
        "session_id": "sess-1",
    }
    assert type(frontmatter["source_type"]) is str


def test_duration_falls_back_to_item_and_may_be_unknown(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    from_item = _frontmatter(make_item(duration=10.06), make_transcript(duration=None))
    assert from_item["duration_seconds"] == 10.1
    unknown = _frontmatter(make_item(duration=None), make_transcript(duration=None))
    assert unknown["duration_seconds"] is None


def test_transcribed_at_is_utc_with_z(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    plus_two = datetime(2024, 5, 1, 14, 30, 45, tzinfo=timezone(timedelta(hours=2)))
    frontmatter = build_frontmatter(
        item=make_item(), transcript=make_transcript(), session_id="s", transcribed_at=plus_two
    )
    assert frontmatter["transcribed_at"] == "2024-05-01T12:30:45Z"


def test_flags_appear_only_when_true(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    plain = _frontmatter(make_item(), make_transcript())
    assert "timing_estimated" not in plain and "transcript_empty" not in plain

    flagged = _frontmatter(make_item(), make_transcript([], timing_estimated=True))
    keys = list(flagged)
    assert keys[-2:] == ["timing_estimated", "transcript_empty"]
    assert flagged["timing_estimated"] is True and flagged["transcript_empty"] is True


def test_metadata_is_appended_yaml_safe_and_never_overrides(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    metadata = {
        "title": "should not win",
        "transcript_empty": True,
        "channel": "Rivers Weekly",
        "views": 1200,
        "rating": 4.5,
        "tags": ["maps", None, "rivers"],
        "published": datetime(2024, 1, 2, 3, 4, 5),
        "path": Path("/tmp/x.mp3"),
        "score": math.nan,
        "missing": None,
        7: "numeric key",
    }
    frontmatter = _frontmatter(make_item(metadata=metadata), make_transcript())
    assert frontmatter["title"] == "A talk about rivers"
    assert "transcript_empty" not in frontmatter
    # Kept under a name of its own: a sheet's "Source" or "Language" column was dropped.
    assert (frontmatter["input_title"], frontmatter["input_transcript_empty"]) == (
        "should not win",
        True,
    )
    assert list(frontmatter)[10:] == [
        "input_title",
        "input_transcript_empty",
        "channel",
        "views",
        "rating",
        "tags",
        "published",
        "path",
        "score",
        "7",
    ]
    assert frontmatter["tags"] == ["maps", "rivers"]
    assert frontmatter["published"] == "2024-01-02T03:04:05"
    assert frontmatter["path"] == "/tmp/x.mp3"
    assert frontmatter["score"] == "nan"
    assert "missing" not in frontmatter
    markdown = render_markdown(frontmatter, make_transcript())
    assert _split(markdown)[0] == frontmatter


@pytest.mark.parametrize("title", NASTY_TITLES)
def test_nasty_titles_round_trip_through_yaml(
    title: str, make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    item = make_item(title=title, metadata={"description": title, "uploader": title})
    transcript = make_transcript()
    frontmatter = _frontmatter(item, transcript)
    parsed, body = _split(render_markdown(frontmatter, transcript))
    assert parsed == frontmatter
    assert parsed["title"] == title
    heading = body.strip().splitlines()[0]
    assert heading.startswith("# ") and "\n" not in heading


def test_unicode_is_written_as_is_not_escaped(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    transcript = make_transcript(["Ça va? 日本語です。"])
    frontmatter = _frontmatter(make_item(title="Ünïcödé 日本語"), transcript)
    markdown = render_markdown(frontmatter, transcript)
    assert "title: Ünïcödé 日本語\n" in markdown
    assert "Ça va? 日本語です。" in markdown


def test_layout_is_frontmatter_heading_then_paragraphs(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    transcript = make_transcript(["Hello there.", "General Kenobi."])
    markdown = render_markdown(_frontmatter(make_item(), transcript), transcript)
    assert markdown.startswith("---\ntitle: A talk about rivers\n")
    assert markdown.endswith(
        "---\n\n# A talk about rivers\n\n"
        "[0:00](https://example.com/watch?v=abc#t=0) Hello there. General Kenobi.\n"
    )


def test_empty_transcript_says_no_speech(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    transcript = make_transcript(["", "   "])
    frontmatter = _frontmatter(make_item(), transcript)
    parsed, body = _split(render_markdown(frontmatter, transcript))
    assert parsed["transcript_empty"] is True
    assert body == "\n# A talk about rivers\n\n_No speech detected._\n"


def _body_paragraphs(markdown: str) -> list[str]:
    """The paragraphs' text, without the linked start time that leads each one."""
    _, body = _split(markdown)
    return [re.sub(r"^\[[^\]]+\]\([^)]+\) ", "", p) for p in body.strip().split("\n\n")[1:]]


def test_each_paragraph_starts_with_its_time_linked_to_that_moment(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    segments = [
        Segment(0.0, 2.0, "First thought."),
        Segment(65.4, 70.0, "After a long pause."),
        Segment(3725.0, 3730.0, "An hour in."),
    ]
    transcript = make_transcript(segments=segments)
    youtube = make_item(source="https://www.youtube.com/watch?v=abcdefghijk")
    _, body = _split(render_markdown(_frontmatter(youtube, transcript), transcript))
    assert body.strip().split("\n\n")[1:] == [
        "[0:00](https://www.youtube.com/watch?v=abcdefghijk&t=0s) First thought.",
        "[1:05](https://www.youtube.com/watch?v=abcdefghijk&t=65s) After a long pause.",
        "[1:02:05](https://www.youtube.com/watch?v=abcdefghijk&t=3725s) An hour in.",
    ]
    local = make_item(source="/media/talk one.wav", source_type=SourceType.LOCAL_FILE)
    _, body = _split(render_markdown(_frontmatter(local, transcript), transcript))
    assert "[1:05](file:///media/talk%20one.wav#t=65) After a long pause." in body
    transcript.timing_estimated = True
    _, body = _split(render_markdown(_frontmatter(youtube, transcript), transcript))
    assert "[~1:05](https://www.youtube.com/watch?v=abcdefghijk&t=65s)" in body


def test_pause_of_two_seconds_starts_a_new_paragraph(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    segments = [
        Segment(0.0, 2.0, "First thought."),
        Segment(3.9, 5.0, "Still first."),  # 1.9 s pause: same paragraph
        Segment(7.0, 9.0, "Second thought"),  # 2.0 s pause: new paragraph
        Segment(9.1, 10.0, "continues here."),
    ]
    transcript = make_transcript(segments=segments)
    markdown = render_markdown(_frontmatter(make_item(), transcript), transcript)
    assert _body_paragraphs(markdown) == [
        "First thought. Still first.",
        "Second thought continues here.",
    ]


def test_long_speech_breaks_near_600_chars_at_sentence_ends(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    sentence = "This sentence is about fifty characters in length."
    transcript = make_transcript([sentence] * 40, seconds_each=3.0, gap=0.1)
    markdown = render_markdown(_frontmatter(make_item(), transcript), transcript)
    paragraphs = _body_paragraphs(markdown)
    assert len(paragraphs) > 1
    for paragraph in paragraphs:
        assert paragraph.endswith(".")
        assert len(paragraph) < 700
    for paragraph in paragraphs[:-1]:
        assert len(paragraph) >= 600
    assert " ".join(paragraphs) == transcript.text


def test_one_huge_segment_is_still_split_into_paragraphs(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    text = " ".join(["Short sentence number here."] * 100)
    transcript = make_transcript(segments=[Segment(0.0, 300.0, text)])
    markdown = render_markdown(_frontmatter(make_item(), transcript), transcript)
    paragraphs = _body_paragraphs(markdown)
    assert len(paragraphs) >= 4
    assert all(p.endswith(".") for p in paragraphs)
    assert " ".join(paragraphs) == text


def test_unpunctuated_captions_are_broken_anyway(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    words = "so then we went down to the river and looked at the water for a while"
    transcript = make_transcript([words] * 100, seconds_each=2.0, gap=0.0)
    markdown = render_markdown(_frontmatter(make_item(), transcript), transcript)
    paragraphs = _body_paragraphs(markdown)
    assert len(paragraphs) > 3
    assert all(len(p) <= 1300 for p in paragraphs)
    assert " ".join(paragraphs) == transcript.text


CONVERSATION = [
    Segment(0.0, 2.0, "Did you see the river this morning?", speaker=1),
    Segment(2.5, 4.0, "It was higher than ever.", speaker=1),
    Segment(4.6, 6.0, "I did.", speaker=2),
    Segment(6.1, 8.0, "The bridge was nearly under water.", speaker=2),
    Segment(8.5, 9.5, "Let's go and look.", speaker=1),
]


def test_speaker_labels_become_turns_each_led_by_its_speaker(
    make_item: Callable[..., Item], make_transcript: Callable[..., Transcript]
) -> None:
    transcript = make_transcript(segments=CONVERSATION)
    _, body = _split(render_markdown(_frontmatter(make_item(), transcript), transcript))

    turns = body.strip().split("\n\n")[1:]
    assert [turn.split(" ", 2)[:2] for turn in turns] == [
        ["**Speaker", "1:**"],
        ["**Speaker", "2:**"],
        ["**Speaker", "1:**"],
    ]
    assert turns[0].endswith("Did you see the river this morning? It was higher than ever.")
    assert turns[1].endswith("I did. The bridge was nearly under water.")
    assert turns[2].endswith("Let's go and look.")
