"""Whatever shape a provider's transcript takes, it becomes timed segments."""

from __future__ import annotations

import json

from bulk_transcribe.engines.segments import (
    estimate_segments,
    parse_transcript_text,
    seconds,
)


def test_verbose_json_segments_keep_their_measured_times():
    payload = {
        "text": "Hello there. General Kenobi.",
        "language": "english",
        "duration": 4.0,
        "segments": [
            {"start": 0.0, "end": 1.5, "text": " Hello there."},
            {"start": 1.8, "end": 3.9, "text": " General Kenobi."},
        ],
    }
    parsed = parse_transcript_text(json.dumps(payload))
    assert not parsed.timing_estimated
    assert [(s.start, s.end, s.text) for s in parsed.segments] == [
        (0.0, 1.5, "Hello there."),
        (1.8, 3.9, "General Kenobi."),
    ]
    assert parsed.language == "english" and parsed.duration == 4.0


def test_json_with_only_text_gets_sentence_estimates_marked_as_such():
    parsed = parse_transcript_text('{"text": "One. Two three four."}', duration_hint=10.0)
    assert parsed.timing_estimated
    assert [s.text for s in parsed.segments] == ["One.", "Two three four."]
    assert parsed.segments[0].start == 0.0 and parsed.segments[-1].end == 10.0


def test_timed_lines_in_common_notations_are_read():
    text = "[00:00:00.000 -> 00:00:02.500] First line.\n[00:00:02.500 -> 00:01:03.250] Second."
    parsed = parse_transcript_text(text)
    assert not parsed.timing_estimated
    assert [(s.start, s.end) for s in parsed.segments] == [(0.0, 2.5), (2.5, 63.25)]
    assert parse_transcript_text("0.00s - 1.20s: Hi.").segments[0].end == 1.2


def test_srt_blocks_with_words_on_the_next_lines_are_read():
    srt = (
        "1\n00:00:01,000 --> 00:00:02,000\nHello\nworld\n\n2\n00:00:03,000 --> 00:00:04,000\nBye\n"
    )
    parsed = parse_transcript_text(srt)
    assert [(s.start, s.text) for s in parsed.segments] == [(1.0, "Hello world"), (3.0, "Bye")]


def test_plain_text_is_estimated_over_the_known_duration():
    parsed = parse_transcript_text("Short. A much longer sentence here.", duration_hint=9.0)
    assert parsed.timing_estimated
    first, second = parsed.segments
    assert first.end - first.start < second.end - second.start
    assert second.end == 9.0


def test_estimates_without_a_duration_assume_a_speaking_rate():
    segments = estimate_segments("x" * 150 + ".", None)
    assert 5 < segments[-1].end < 20


def test_empty_results_are_empty_transcripts():
    assert parse_transcript_text("").segments == []
    assert parse_transcript_text('{"text": ""}').segments == []


def test_clock_notation_to_seconds():
    assert seconds("01:02:03.5") == 3723.5
    assert seconds("02:03,25") == 123.25
    assert seconds("12.5s") == 12.5
