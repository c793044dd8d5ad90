"""SRT and WebVTT: readable cues (<= 7 s, <= 2 lines of <= 42 chars) with sane timing."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bulk_transcribe.models import Segment, Transcript
from bulk_transcribe.outputs import render_srt, render_vtt

Make = Callable[..., Transcript]

LONG_SEGMENT = (
    "This is a rather long segment of speech that goes on and on without stopping, "
    "because some engines return whole paragraphs as a single segment with one start "
    "and one end time, and subtitles must still be short enough to read comfortably."
)
OVERLONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis-and-friends"


@dataclass
class ParsedCue:
    start: float
    end: float
    lines: list[str]


def _seconds(stamp: str, separator: str) -> float:
    match = re.fullmatch(rf"(\d{{2,}}):([0-5]\d):([0-5]\d){re.escape(separator)}(\d{{3}})", stamp)
    assert match, f"bad timestamp {stamp!r}"
    hours, minutes, seconds, millis = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def parse_srt(text: str) -> list[ParsedCue]:
    """A strict SRT reader: numbered blocks, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, text, blank line."""
    if text == "":
        return []
    assert text.endswith("\n") and not text.endswith("\n\n")
    cues = []
    for number, block in enumerate(text[:-1].split("\n\n"), start=1):
        index, timing, *lines = block.split("\n")
        assert index == str(number)
        start, arrow, end = timing.partition(" --> ")
        assert arrow
        assert lines and all(line.strip() for line in lines)
        cues.append(ParsedCue(_seconds(start, ","), _seconds(end, ","), lines))
    return cues


def parse_vtt(text: str) -> list[ParsedCue]:
    """A strict WebVTT reader for what we write: header, then timing + text blocks."""
    header, _, rest = text.partition("\n")
    assert header == "WEBVTT"
    if not rest:
        return []
    assert rest.startswith("\n") and text.endswith("\n") and not text.endswith("\n\n")
    cues = []
    for block in rest[1:-1].split("\n\n"):
        timing, *lines = block.split("\n")
        start, arrow, end = timing.partition(" --> ")
        assert arrow
        for line in lines:
            assert line.strip() and "<" not in line and ">" not in line and "-->" not in line
            assert re.fullmatch(r"([^&]|&(amp|lt|gt);)*", line), f"unescaped & in {line!r}"
        unescaped = [html.unescape(line) for line in lines]
        cues.append(ParsedCue(_seconds(start, "."), _seconds(end, "."), unescaped))
    return cues


def assert_readable(cues: list[ParsedCue], transcript: Transcript) -> None:
    previous_start = previous_end = 0.0
    for cue in cues:
        assert cue.end > cue.start
        assert cue.end - cue.start <= 7.05
        assert cue.start >= previous_start and cue.start >= previous_end - 1e-9
        assert 1 <= len(cue.lines) <= 2
        for line in cue.lines:
            assert len(line) <= 42 or " " not in line, f"line too long: {line!r}"
        previous_start, previous_end = cue.start, cue.end
    joined = " ".join(" ".join(cue.lines) for cue in cues)
    assert joined.split() == transcript.text.split()


def _both(transcript: Transcript) -> list[list[ParsedCue]]:
    return [parse_srt(render_srt(transcript)), parse_vtt(render_vtt(transcript))]


def test_short_segments_become_one_cue_each(make_transcript: Make) -> None:
    transcript = make_transcript(["Hello there.", "General Kenobi."], seconds_each=2.0, gap=1.0)
    assert render_srt(transcript) == (
        "1\n00:00:00,000 --> 00:00:02,000\nHello there.\n\n"
        "2\n00:00:03,000 --> 00:00:05,000\nGeneral Kenobi.\n"
    )
    assert render_vtt(transcript) == (
        "WEBVTT\n\n"
        "00:00:00.000 --> 00:00:02.000\nHello there.\n\n"
        "00:00:03.000 --> 00:00:05.000\nGeneral Kenobi.\n"
    )


def test_sample_transcript_is_readable(make_transcript: Make) -> None:
    transcript = make_transcript()
    for cues in _both(transcript):
        assert_readable(cues, transcript)


def test_long_segment_is_split_at_words_with_proportional_times(make_transcript: Make) -> None:
    transcript = make_transcript(segments=[Segment(10.0, 40.0, LONG_SEGMENT)])
    for cues in _both(transcript):
        assert len(cues) >= 5
        assert_readable(cues, transcript)
        assert cues[0].start == 10.0 and cues[-1].end == 40.0
        # Contiguous pieces of one segment, each timed by its share of the characters.
        for before, after in itertools.pairwise(cues):
            assert after.start == pytest.approx(before.end, abs=0.002)
        offset = 0
        for cue in cues:
            offset = LONG_SEGMENT.index(" ".join(cue.lines), offset)
            expected_start = 10.0 + 30.0 * offset / len(LONG_SEGMENT)
            assert cue.start == pytest.approx(expected_start, abs=0.002)


def test_slow_speech_is_split_by_time_not_only_length(make_transcript: Make) -> None:
    transcript = make_transcript(segments=[Segment(0.0, 30.0, "one two three four five six")])
    for cues in _both(transcript):
        assert len(cues) >= 5
        assert_readable(cues, transcript)


def test_lines_are_balanced_when_wrapped(make_transcript: Make) -> None:
    text = "the quick brown fox jumps over the lazy dog and runs far away"
    transcript = make_transcript(segments=[Segment(0.0, 4.0, text)])
    [cue] = parse_srt(render_srt(transcript))
    assert cue.lines == ["the quick brown fox jumps over", "the lazy dog and runs far away"]


def test_overlong_word_stands_alone(make_transcript: Make) -> None:
    transcript = make_transcript(segments=[Segment(0.0, 6.0, f"we saw {OVERLONG_WORD} today")])
    for cues in _both(transcript):
        assert_readable(cues, transcript)
        assert [OVERLONG_WORD] in [cue.lines for cue in cues]


def test_overlaps_are_clamped_to_next_start(make_transcript: Make) -> None:
    segments = [Segment(0.0, 5.0, "first"), Segment(3.0, 6.0, "second")]
    transcript = make_transcript(segments=segments)
    for cues in _both(transcript):
        assert_readable(cues, transcript)
        assert (cues[0].start, cues[0].end) == (0.0, 3.0)


def test_degenerate_times_still_give_positive_monotonic_cues(make_transcript: Make) -> None:
    segments = [
        Segment(5.0, 5.0, "zero length"),
        Segment(5.0, 4.0, "ends before it starts"),
        Segment(2.0, 3.0, "goes back in time"),
        Segment(-1.0, 0.0, "negative"),
        Segment(0.0, 0.0, "all at zero"),
    ]
    transcript = make_transcript(segments=segments, timing_estimated=True)
    for cues in _both(transcript):
        assert_readable(cues, transcript)
        assert all(cue.end - cue.start >= 0.1 - 1e-9 for cue in cues)


def test_long_gaps_cap_a_cue_at_seven_seconds(make_transcript: Make) -> None:
    transcript = make_transcript(segments=[Segment(0.0, 60.0, "Hmm.")])
    for cues in _both(transcript):
        [cue] = cues
        assert cue.end - cue.start == pytest.approx(7.0)


def test_hours_are_formatted(make_transcript: Make) -> None:
    transcript = make_transcript(segments=[Segment(3723.5, 3725.25, "late")])
    assert "01:02:03,500 --> 01:02:05,250" in render_srt(transcript)
    assert "01:02:03.500 --> 01:02:05.250" in render_vtt(transcript)


def test_vtt_escapes_markup_characters(make_transcript: Make) -> None:
    transcript = make_transcript(["Tom & Jerry <script> a --> b"])
    vtt = render_vtt(transcript)
    assert "Tom &amp; Jerry &lt;script&gt; a --&gt; b" in vtt
    [cue] = parse_vtt(vtt)
    assert cue.lines == ["Tom & Jerry <script> a --> b"]


def test_empty_transcript_gives_valid_empty_files(make_transcript: Make) -> None:
    for transcript in (make_transcript([]), make_transcript(["", "  "])):
        assert render_srt(transcript) == ""
        assert render_vtt(transcript) == "WEBVTT\n"
        assert parse_srt(render_srt(transcript)) == []
        assert parse_vtt(render_vtt(transcript)) == []


def test_many_mixed_segments_stay_readable(make_transcript: Make) -> None:
    texts = [LONG_SEGMENT, "ok", f"{OVERLONG_WORD} " * 3, "Tom & Jerry <b>bold</b>", "x " * 90]
    transcript = make_transcript(texts * 5, seconds_each=9.0, gap=0.0)
    for cues in _both(transcript):
        assert_readable(cues, transcript)


def _cue_texts(transcript: Transcript) -> list[str]:
    return [" ".join(cue.lines) for cue in parse_srt(render_srt(transcript))]


def test_a_long_sentence_is_cut_at_its_clause_end(make_transcript: Make) -> None:
    text = (
        "When the rain finally stopped late in the afternoon, we walked all the way down "
        "to the old river and watched the boats"
    )
    transcript = make_transcript(segments=[Segment(0.0, 7.0, text)])

    assert _cue_texts(transcript) == [
        "When the rain finally stopped late in the afternoon,",
        "we walked all the way down to the old river and watched the boats",
    ]


def test_two_sentences_in_one_segment_are_cut_between_them(make_transcript: Make) -> None:
    text = "The train was late again this morning. Nobody on the platform seemed surprised by it."
    transcript = make_transcript(segments=[Segment(0.0, 6.0, text)])

    assert _cue_texts(transcript) == [
        "The train was late again this morning.",
        "Nobody on the platform seemed surprised by it.",
    ]


def test_no_lone_word_is_left_at_the_end_of_a_split_sentence(make_transcript: Make) -> None:
    text = "we planted the tomatoes along the south wall where they get the most sun all day long"
    transcript = make_transcript(segments=[Segment(0.0, 6.5, text)])

    cues = _cue_texts(transcript)
    assert len(cues) == 2
    assert all(len(cue.split()) > 2 for cue in cues)


def test_a_short_lone_word_joins_the_cue_next_to_it(make_transcript: Make) -> None:
    transcript = make_transcript(
        segments=[Segment(0.0, 0.4, "Well."), Segment(0.6, 3.0, "I think we should go now.")]
    )
    for cues in _both(transcript):
        assert [" ".join(c.lines) for c in cues] == ["Well. I think we should go now."]
        assert (cues[0].start, cues[0].end) == (0.0, 3.0)


def test_a_lone_word_between_long_pauses_is_shown_for_a_second(make_transcript: Make) -> None:
    transcript = make_transcript(
        segments=[
            Segment(0.0, 2.0, "Are you coming with us?"),
            Segment(5.0, 5.4, "Yes."),
            Segment(9.0, 11.0, "Then hurry up."),
        ]
    )
    for cues in _both(transcript):
        assert [" ".join(c.lines) for c in cues] == [
            "Are you coming with us?",
            "Yes.",
            "Then hurry up.",
        ]
        assert cues[1].start == 5.0 and cues[1].end - cues[1].start >= 1.0


def test_speech_of_one_word_keeps_its_own_timing(make_transcript: Make) -> None:
    transcript = make_transcript(segments=[Segment(1.0, 1.4, "Hello.")])
    for cues in _both(transcript):
        assert [(c.start, c.end, c.lines) for c in cues] == [(1.0, 1.4, ["Hello."])]


def test_vtt_cues_name_their_speaker_in_a_voice_tag(make_transcript: Make) -> None:
    transcript = make_transcript(
        segments=[
            Segment(0.0, 2.0, "Are you coming with us?", speaker=1),
            Segment(2.2, 2.5, "Yes.", speaker=2),
            Segment(2.6, 4.0, "Then hurry up.", speaker=1),
        ]
    )
    vtt = render_vtt(transcript)

    assert "00:00:00.000 --> 00:00:02.000\n<v Speaker 1>Are you coming with us?\n" in vtt
    # A short lone word is never joined to another speaker's cue.
    assert "<v Speaker 2>Yes.\n" in vtt
    assert "<v Speaker 1>Then hurry up.\n" in vtt
