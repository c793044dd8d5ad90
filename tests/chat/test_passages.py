"""Passages for a question: telling words found with the full-text index, each match with its
neighbouring segments, overlapping matches merged, best first."""

from __future__ import annotations

import shutil
from pathlib import Path

from bulk_transcribe.chat.passages import PassageIndex, question_query
from bulk_transcribe.store import Store
from tests.samples import SAMPLE_MEDIA
from tests.store.sessions import SegmentsEngine, local_specs, transcribe

SCRIPT = {
    "garden": [
        (0.0, 5.0, "Welcome to the garden show."),
        (5.0, 10.0, "Today we plant tomatoes."),
        (10.0, 15.0, "Tomatoes need full sun and deep watering."),
        (15.0, 20.0, "Mulch keeps the soil moist."),
        (20.0, 25.0, "Next week we talk about roses."),
        (25.0, 30.0, "Roses like the morning light."),
        (30.0, 35.0, "Thanks for listening."),
    ],
    "energy": [
        (0.0, 5.0, "Solar panels turn light into electricity."),
        (5.0, 10.0, "A panel facing north makes less power."),
        (10.0, 15.0, "Batteries store the surplus for the night."),
    ],
}


def make_store(tmp_path: Path) -> tuple[Store, dict[str, str]]:
    out, media = tmp_path / "out", tmp_path / "media"
    media.mkdir()
    store = Store(out / "bulk_transcribe.db")
    sessions = {}
    for name in SCRIPT:
        shutil.copy(SAMPLE_MEDIA[0], media / f"{name}.wav")
        sessions[name] = transcribe(
            store, out, local_specs([media / f"{name}.wav"]), SegmentsEngine(SCRIPT)
        )
    return store, sessions


def test_a_question_becomes_its_telling_words() -> None:
    assert question_query("What did they say about solar panels?") == '"solar"* OR "panel"*'
    assert question_query("Is it about the 42 bus?") == '"42" OR "bus"'
    assert question_query("What is it about?") == ""


def test_a_match_comes_with_its_neighbours_and_overlaps_merge(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    with store, PassageIndex(store) as index:
        passages = index.passages("How much sun do tomatoes need?", neighbours=1)
    first = passages[0]
    assert first.title == "garden" and first.number == 1
    # "tomatoes" is in segments 2 and 3: one passage from segment 1 to segment 4
    assert first.text == (
        "Welcome to the garden show. Today we plant tomatoes. "
        "Tomatoes need full sun and deep watering. Mulch keeps the soil moist."
    )
    assert (first.start, first.end) == (0.0, 20.0)
    # a citation links to where the best match was said, not to the passage's first words
    assert first.moment == 10.0
    assert first.link == f"{(tmp_path / 'media' / 'garden.wav').as_uri()}#t=10"
    assert [p.title for p in passages] == ["garden"]  # nothing in "energy" is about tomatoes


def test_plurals_find_singulars_and_a_session_narrows(tmp_path: Path) -> None:
    store, sessions = make_store(tmp_path)
    with store, PassageIndex(store) as index:
        both = index.passages("panels and light", neighbours=0)
        assert {p.title for p in both} == {"garden", "energy"}
        assert "A panel facing north makes less power." in {p.text for p in both}
        only = index.passages("panels and light", session_id=sessions["garden"], neighbours=0)
        assert [p.text for p in only] == ["Roses like the morning light."]
        assert [p.number for p in both] == list(range(1, len(both) + 1))


def test_nothing_relevant_gives_no_passages(tmp_path: Path) -> None:
    store, _ = make_store(tmp_path)
    with store, PassageIndex(store) as index:
        assert index.passages("zebras migrating") == []
        assert index.passages("what is it about?") == []


def test_a_question_in_chinese_or_japanese_finds_its_passages(tmp_path: Path) -> None:
    """A question written without spaces was one "word" that matched nothing."""
    script = {"tokyo": [(0.0, 4.0, "東京は大きい都市です。"), (5.0, 8.0, "雪の日は静かです。")]}
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(SAMPLE_MEDIA[0], media / "tokyo.wav")
    with Store(tmp_path / "out" / "bulk_transcribe.db") as store:
        transcribe(
            store, tmp_path / "out", local_specs([media / "tokyo.wav"]), SegmentsEngine(script)
        )
        with PassageIndex(store) as index:
            best, *_ = index.passages("東京はどんな都市ですか", neighbours=0)
            assert best.text == "東京は大きい都市です。"
            assert index.passages("大阪", neighbours=0) == []
