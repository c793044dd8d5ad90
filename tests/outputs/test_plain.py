"""JSON for programs and plain text for people, both from one transcript."""

from __future__ import annotations

import json
from collections.abc import Callable

from bulk_transcribe.models import Segment, Transcript
from bulk_transcribe.outputs import render_json, render_txt

Make = Callable[..., Transcript]


def test_json_holds_metadata_text_and_segments(make_transcript: Make) -> None:
    segments = [Segment(0.12345, 1.98765, " Hello, wörld. "), Segment(2.0, 3.0004, "Bye.")]
    transcript = make_transcript(segments=segments)
    frontmatter = {"title": "Ünïcödé", "duration_seconds": 3.0}
    rendered = render_json(frontmatter, transcript)
    assert json.loads(rendered) == {
        "metadata": frontmatter,
        "text": "Hello, wörld. Bye.",
        "segments": [
            {"start": 0.123, "end": 1.988, "text": "Hello, wörld."},
            {"start": 2.0, "end": 3.0, "text": "Bye."},
        ],
    }
    assert "Ünïcödé" in rendered  # not \\u-escaped
    assert rendered.startswith('{\n  "metadata"')
    assert rendered.endswith("}\n")


def test_json_of_empty_transcript(make_transcript: Make) -> None:
    document = json.loads(render_json({"transcript_empty": True}, make_transcript([])))
    assert document == {"metadata": {"transcript_empty": True}, "text": "", "segments": []}


def test_txt_is_paragraphs_without_metadata(make_transcript: Make) -> None:
    segments = [
        Segment(0.0, 1.0, "First part."),
        Segment(1.2, 2.0, "Same paragraph."),
        Segment(5.0, 6.0, "After a pause."),
    ]
    txt = render_txt(make_transcript(segments=segments))
    assert txt == "First part. Same paragraph.\n\nAfter a pause.\n"


def test_txt_of_empty_transcript_is_empty(make_transcript: Make) -> None:
    assert render_txt(make_transcript([" "])) == ""


def test_json_segments_name_their_speaker_when_labelled(make_transcript: Make) -> None:
    transcript = make_transcript(
        segments=[Segment(0.0, 1.5, "Hello.", speaker=1), Segment(2.0, 3.0, "Hi.", speaker=2)]
    )
    segments = json.loads(render_json({}, transcript))["segments"]

    assert [s["speaker"] for s in segments] == ["Speaker 1", "Speaker 2"]
    unlabelled = json.loads(render_json({}, make_transcript()))["segments"]
    assert all("speaker" not in s for s in unlabelled)
