"""Searching everything transcribed: phrases, prefixes, booleans and accents over real sessions,
ranked and highlighted, each hit linked to its moment; the index keeps itself up to date."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_transcribe import service
from bulk_transcribe.errors import PermanentError
from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.outputs.writer import write_item_outputs
from bulk_transcribe.store import Store
from bulk_transcribe.store.schema import MIGRATIONS
from bulk_transcribe.store.search_index import MATCH_END, MATCH_START, SearchIndex
from tests.samples import SAMPLE_MEDIA
from tests.store.sessions import SegmentsEngine, local_specs, make_transcript, transcribe

SOLAR, COFFEE = SAMPLE_MEDIA[0], SAMPLE_MEDIA[2]
FRENCH = {
    "cafe_talk": [
        (0.0, 4.0, "Nous avons bu un café à Montréal."),
        (5.5, 9.0, "Le garçon était très poli."),
    ],
    "market": [
        (0.0, 3.0, "The grid, the grid, always the grid."),
        (62.0, 65.0, "Fresh bread at the market every morning."),
    ],
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict[str, str]]]:
    """Two real sessions in one store: the solar and coffee samples through the real local
    model, and two scripted items with accented French."""
    folder = tmp_path_factory.mktemp("library")
    store = Store(folder / "out" / "bulk_transcribe.db")
    spoken = transcribe(store, folder / "out", local_specs([SOLAR, COFFEE]))
    media = folder / "media"
    media.mkdir()
    for name in FRENCH:
        shutil.copy(SOLAR, media / f"{name}.wav")
    scripted = transcribe(
        store,
        folder / "out",
        local_specs([media / f"{name}.wav" for name in FRENCH]),
        engine=SegmentsEngine(FRENCH),
    )
    yield store, {"spoken": spoken, "scripted": scripted}
    store.close()


@pytest.fixture
def index(library: tuple[Store, dict[str, str]]) -> Iterator[SearchIndex]:
    with service.open_search_index(library[0]) as opened:
        yield opened


def titles(result) -> list[str]:
    return [hit.title for hit in result.hits]


def test_words_find_what_the_model_heard_with_its_time_and_a_link(index: SearchIndex) -> None:
    result = index.search("sunlight electricity")
    (hit,) = result.hits
    assert hit.title == "01_solar_panels"
    assert hit.start < 3.0 <= hit.end + 1
    assert hit.link == f"{SOLAR.resolve().as_uri()}#t={int(hit.start)}"
    assert f"{MATCH_START}sunlight{MATCH_END}" in hit.text.lower()
    assert "sunlight" in hit.plain_text.lower() and MATCH_START not in hit.plain_text


def test_a_quoted_phrase_must_occur_in_that_order(index: SearchIndex) -> None:
    assert titles(index.search('"fresh bread"')) == ["market"]
    assert index.search('"bread fresh"').hits == []


def test_a_prefix_matches_every_word_it_starts(index: SearchIndex) -> None:
    hits = index.search("electri*").hits
    assert [h.title for h in hits] == ["01_solar_panels"]
    assert f"{MATCH_START}electricity{MATCH_END}" in hits[0].text.lower()


def test_boolean_queries_combine_items(index: SearchIndex) -> None:
    assert set(titles(index.search("coffee OR bread"))) == {"03_coffee_recipe", "market"}
    assert set(titles(index.search("grid NOT bread"))) == {"market", "01_solar_panels"}
    assert titles(index.search("market NOT bread")) == []
    assert index.search("coffee AND bread").hits == []


def test_accents_are_folded_both_ways(index: SearchIndex) -> None:
    (hit,) = index.search("cafe montreal").hits
    assert hit.title == "cafe_talk"
    assert f"{MATCH_START}café{MATCH_END}" in hit.text  # shown as written
    assert titles(index.search("garçon")) == ["cafe_talk"]
    assert titles(index.search("GARCON")) == ["cafe_talk"]


def test_hits_are_ranked_best_first(index: SearchIndex) -> None:
    hits = index.search("grid").hits
    assert hits[0].title == "market"  # "the grid" three times in a short segment
    assert [h.rank for h in hits] == sorted(h.rank for h in hits)


def test_pages_of_hits_add_up_to_an_honest_count(index: SearchIndex) -> None:
    everything = index.search("grid OR bread OR café", limit=100)
    first = index.search("grid OR bread OR café", limit=2)
    rest = index.search("grid OR bread OR café", limit=100, offset=2)
    assert first.total_hits == len(everything.hits) > 2  # all hits, not the page's
    assert first.matching_items == len({hit.item_id for hit in everything.hits}) == 3
    assert len(first.hits) == 2 and rest.offset == 2
    assert [(h.item_id, h.start) for h in first.hits + rest.hits] == [
        (h.item_id, h.start) for h in everything.hits
    ]


def test_filters_by_session_and_by_source(
    index: SearchIndex, library: tuple[Store, dict[str, str]]
) -> None:
    sessions = library[1]
    assert titles(index.search("grid", session_id=sessions["spoken"])) == ["01_solar_panels"]
    assert titles(index.search("grid", session_id=sessions["scripted"])) == ["market"]
    assert titles(index.search("grid", sources=["market.wav"])) == ["market"]
    assert len(index.search("grid", sources=["local_file"]).hits) == 2
    assert index.search("grid", sources=["youtube"]).hits == []


def test_text_that_is_not_query_syntax_is_searched_as_words(index: SearchIndex) -> None:
    result = index.search('solar-panels "')
    assert result.query == '"solar panels"'  # written together: a phrase
    assert titles(result) == ["01_solar_panels"]
    with pytest.raises(PermanentError, match="type some words"):
        index.search("   ")


def test_items_are_indexed_once_and_new_ones_as_they_finish(tmp_path: Path) -> None:
    store = Store(tmp_path / "out" / "bulk_transcribe.db")
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(SOLAR, media / "market.wav")
    shutil.copy(SOLAR, media / "cafe_talk.wav")
    engine = SegmentsEngine(FRENCH)
    first = transcribe(store, tmp_path / "out", local_specs([media / "market.wav"]), engine)
    with service.open_search_index(store) as index:
        result = index.search("bread")
        assert (result.refresh.indexed_items, result.refresh.indexed_segments) == (1, 2)
        assert index.search("bread").refresh.indexed_items == 0  # nothing new: nothing read

        transcribe(store, tmp_path / "out", local_specs([media / "cafe_talk.wav"]), engine)
        result = index.search("café")
        assert result.refresh.indexed_items == 1 and titles(result) == ["cafe_talk"]

        store.delete_session(first)
        result = index.search("bread")
        assert result.refresh.dropped_items == 1 and result.hits == []
        assert index.stats()["items"] == 1
    store.close()


def test_an_item_transcribed_again_replaces_its_old_segments(tmp_path: Path) -> None:
    store = Store(tmp_path / "out" / "bulk_transcribe.db")
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(SOLAR, media / "market.wav")
    engine = SegmentsEngine(dict(FRENCH))
    session_id = transcribe(store, tmp_path / "out", local_specs([media / "market.wav"]), engine)
    with service.open_search_index(store) as index:
        assert titles(index.search("bread")) == ["market"]
        (item,) = store.items(session_id)
        store.finish_item(item.id, ItemStatus.FAILED, error_kind="x", error_message="redo")
        assert index.search("bread").hits == []  # not done any more: not searchable
        store.requeue_failed(session_id)
        store.start_item(item.id)
        store.save_transcript(item.id, make_transcript([(0.0, 2.0, "Only cheese today.")]), "t")
        store.finish_item(item.id, ItemStatus.DONE, outputs=item.outputs)
        assert index.search("bread").hits == []
        assert titles(index.search("cheese")) == ["market"]
    store.close()


def test_sessions_made_before_the_index_existed_are_searchable(tmp_path: Path) -> None:
    """A database left by the version without search (schema 1) is migrated and indexed."""
    out = tmp_path / "out"
    folder = out / "sessions" / "20240101T000000Z-abcdef"
    transcript = make_transcript([(0.0, 5.0, "An old talk about windmills."), (12.5, 14.0, "Bye.")])
    paths = write_item_outputs(
        folder, "old_talk", ["json", "md"], {"title": "Old talk"}, transcript
    )
    database = out / "bulk_transcribe.db"
    with sqlite3.connect(database) as old:
        old.executescript(MIGRATIONS[1] + "; PRAGMA user_version = 1;")
        old.execute(
            "INSERT INTO sessions (id, created_at, updated_at, status, out_dir, settings_json)"
            " VALUES ('20240101T000000Z-abcdef', 't', 't', 'completed', ?, '{}')",
            (str(out),),
        )
        old.execute(
            "INSERT INTO items (session_id, position, key, source, source_type, title, status,"
            " stage, outputs_json, finished_at) VALUES ('20240101T000000Z-abcdef', 1, 'k',"
            " 'https://youtu.be/dQw4w9WgXcQ', 'youtube', 'Old talk', 'done', 'done', ?, 't')",
            (json.dumps([p.name for p in paths]),),
        )
    with Store(database) as store, service.open_search_index(store) as index:
        (hit,) = index.search("windmill*").hits
    assert hit.title == "Old talk"
    assert hit.link == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=0s"


def test_items_without_a_timed_transcript_are_reported_not_fatal(tmp_path: Path) -> None:
    store = Store(tmp_path / "out" / "bulk_transcribe.db")
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(SOLAR, media / "market.wav")
    shutil.copy(SOLAR, media / "cafe_talk.wav")
    engine = SegmentsEngine(FRENCH)
    transcribe(store, tmp_path / "out", local_specs([media / "market.wav"]), engine, "md,txt")
    transcribe(store, tmp_path / "out", local_specs([media / "cafe_talk.wav"]), engine, "srt")
    # the store keeps every transcript: both searchable
    with service.open_search_index(store) as index:
        assert set(titles(index.search("café OR bread"))) == {"cafe_talk", "market"}
    with sqlite3.connect(store.path) as older:  # as items finished by earlier versions
        older.execute("DELETE FROM transcripts")
        older.execute("DELETE FROM indexed_items")
        older.execute("DELETE FROM segments_fts")
    with service.open_search_index(store) as index:
        result = index.search("café OR bread")
    assert titles(result) == ["cafe_talk"]  # read back from its subtitles
    (problem,) = result.refresh.unreadable
    assert problem.startswith("market: no .json, .srt or .vtt")
    store.close()


def test_a_youtube_item_links_to_its_moment(tmp_path: Path) -> None:
    store = Store(tmp_path / "out" / "bulk_transcribe.db")
    session = store.create_session(tmp_path / "out", {})
    source = "https://www.youtube.com/watch?v=abcdefghijk"
    store.add_items(session.id, [ItemSpec(source, SourceType.YOUTUBE, title="A video")])
    (item,) = store.items(session.id)
    transcript = make_transcript([(0.0, 3.0, "Intro."), (83.4, 90.0, "Here is the turbine.")])
    paths = write_item_outputs(session.folder, "a_video", ["json"], {}, transcript)
    store.start_item(item.id)
    store.finish_item(item.id, ItemStatus.DONE, outputs=[p.name for p in paths])
    with service.open_search_index(store) as index:
        (hit,) = index.search("turbine").hits
    assert hit.link == "https://www.youtube.com/watch?v=abcdefghijk&t=83s"
    assert (hit.start, hit.end) == (83.4, 90.0)
    store.close()


HARD_WORDS = {
    "pandemic": [
        (0.0, 4.0, "COVID-19 changed our e-mail habits."),
        (10.0, 12.0, "A covid vaccine came in 19 doses."),
        (20.0, 22.0, "Version 3.5 is out."),
    ],
    "tokyo": [(0.0, 4.0, "東京は大きい都市です。"), (5.0, 8.0, "我们在北京吃了饺子。")],
}


@pytest.fixture
def scripted_index(tmp_path: Path) -> Iterator[SearchIndex]:
    """One store of scripted transcripts whose words are hard to search for."""
    store = Store(tmp_path / "out" / "bulk_transcribe.db")
    media = tmp_path / "media"
    media.mkdir()
    for name in HARD_WORDS:
        shutil.copy(COFFEE, media / f"{name}.wav")
    specs = local_specs([media / f"{name}.wav" for name in HARD_WORDS])
    transcribe(store, tmp_path / "out", specs, engine=SegmentsEngine(HARD_WORDS))
    with service.open_search_index(store) as opened:
        yield opened
    store.close()


@pytest.mark.parametrize(
    ("query", "starts"),
    [("COVID-19", [0.0]), ("e-mail habits", [0.0]), ("3.5", [20.0]), ("covid* 19", [0.0, 10.0])],
)
def test_a_word_written_with_a_hyphen_or_a_point_is_found_as_written(
    scripted_index: SearchIndex, query: str, starts: list[float]
) -> None:
    """`COVID-19` was searched as `covid` and `19` anywhere in a segment: "a covid vaccine
    came in 19 doses" matched too, and ranked first."""
    assert sorted(hit.start for hit in scripted_index.search(query).hits) == starts


def test_chinese_and_japanese_words_are_found_inside_the_sentence(
    scripted_index: SearchIndex,
) -> None:
    """Written without spaces, a whole sentence was one token to the index: searching for
    東京 or 北京 found nothing, so Chinese and Japanese transcripts could not be searched."""
    (tokyo,) = scripted_index.search("東京").hits
    assert tokyo.plain_text == "東京は大きい都市です。"
    assert f"{MATCH_START}東京{MATCH_END}は" in tokyo.text
    (beijing,) = scripted_index.search("北京 饺子").hits
    assert (beijing.start, beijing.plain_text) == (5.0, "我们在北京吃了饺子。")
    assert [h.start for h in scripted_index.search('"大きい都市"').hits] == [0.0]
    assert scripted_index.search("京都").hits == []  # the characters, in that order


def test_an_index_built_by_an_earlier_version_is_rebuilt_for_chinese_and_japanese(
    scripted_index: SearchIndex, tmp_path: Path
) -> None:
    db = tmp_path / "out" / "bulk_transcribe.db"
    scripted_index.search("東京")
    with sqlite3.connect(db) as conn:  # the index as version 12 wrote it: no spaces added
        conn.execute("UPDATE segments_fts SET text = replace(text, ' ', '')")
        conn.execute("PRAGMA user_version = 12")
    with Store(db) as store, service.open_search_index(store) as index:
        assert [h.plain_text for h in index.search("東京").hits] == ["東京は大きい都市です。"]
