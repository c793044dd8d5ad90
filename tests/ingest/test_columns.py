import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.ingest import parse_column_overrides
from bulk_transcribe.ingest.columns import map_columns


def test_common_headers_are_recognised_forgivingly() -> None:
    mapping = map_columns(["Episode Title", "Show-Notes", "Audio URL", "TYPE"], "t.csv", {})
    assert [c.index for c in mapping.url_columns] == [2]
    assert (mapping.title, mapping.description, mapping.source_type) == (0, 1, 3)


def test_episode_url_is_a_link_column_only_when_nothing_better_exists() -> None:
    assert [c.index for c in map_columns(["episode_url", "mp3_url"], "t", {}).url_columns] == [1]
    assert [c.index for c in map_columns(["Episode URL", "title"], "t", {}).url_columns] == [0]


def test_override_picks_a_column_by_forgiving_name() -> None:
    mapping = map_columns(["Name", "My Link", "url"], "t", {"url": "my_link", "title": "NAME"})
    assert [c.index for c in mapping.url_columns] == [1]
    assert mapping.title == 0


def test_override_naming_a_missing_column_lists_the_columns() -> None:
    with pytest.raises(PermanentError) as info:
        map_columns(["a", "b"], "t.csv", {"url": "Link"})
    assert str(info.value) == "t.csv has no column 'Link'; its columns are: 'a', 'b'"


def test_sheet_without_link_column_lists_columns_and_suggests_the_flag() -> None:
    with pytest.raises(PermanentError) as info:
        map_columns(["Name", "Where"], "t.csv", {})
    message = str(info.value)
    assert "'Name', 'Where'" in message
    assert "--column url=<name>" in message
    assert info.value.kind is ErrorKind.INVALID_INPUT


def test_row_source_type_picks_between_youtube_and_audio_columns() -> None:
    mapping = map_columns(["youtube_url", "mp3_url", "source_type"], "t", {})
    assert mapping.pick_url_column(["https://yt", "https://mp3", "podcast"]) == 1
    assert mapping.pick_url_column(["https://yt", "https://mp3", "YouTube"]) == 0
    assert mapping.pick_url_column(["https://yt", "https://mp3", ""]) == 0
    assert mapping.pick_url_column(["", "https://mp3", "youtube"]) == 1
    assert mapping.pick_url_column(["", "", "youtube"]) is None


def test_parse_column_overrides() -> None:
    assert parse_column_overrides(["url=Link", "title = Name ", "Source-Type=kind"]) == {
        "url": "Link",
        "title": "Name",
        "source_type": "kind",
    }


@pytest.mark.parametrize("pair", ["url", "url=", "colour=Red", "=Link"])
def test_bad_override_pairs_are_invalid_input(pair: str) -> None:
    with pytest.raises(PermanentError, match="--column expects ROLE=HEADER") as info:
        parse_column_overrides([pair])
    assert info.value.kind is ErrorKind.INVALID_INPUT


def test_a_source_column_naming_where_a_row_came_from_does_not_hide_its_url() -> None:
    """ "Source" is a link alias, but sheets often use it for "YouTube" or "Newsletter"
    beside a "URL" column: every row was refused as "not a URL"."""
    mapping = map_columns(["Title", "Source", "URL"], "t.csv", {})
    assert mapping.pick_url_column(["Talk", "YouTube", "https://youtu.be/dQw4w9WgXcQ"]) == 2
    assert mapping.pick_url_column(["Ep", "https://e.com/1.mp3", "https://e.com/2.mp3"]) == 1
    assert mapping.pick_url_column(["Odd", "Newsletter", ""]) == 1  # reported as not a link
