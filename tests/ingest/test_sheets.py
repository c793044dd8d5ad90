import re
from pathlib import Path

import pytest
from openpyxl import Workbook

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.ingest.result import InvalidEntry
from bulk_transcribe.ingest.sheets import sheet_entries, snake_case
from bulk_transcribe.ingest.tables import Table, read_table
from bulk_transcribe.models import ItemSpec, SourceType


def table(headers: list[str], *rows: list[str]) -> Table:
    numbered = [(n, row) for n, row in enumerate(rows, start=2)]
    return Table(name="t.csv", headers=headers, header_row=1, rows=numbered)


def items(entries: list[ItemSpec | InvalidEntry]) -> list[ItemSpec]:
    return [e for e in entries if isinstance(e, ItemSpec)]


def test_title_goes_to_the_item_and_other_columns_to_metadata() -> None:
    entries = sheet_entries(
        table(
            ["Title", "YouTube URL", "Show Notes", "Episode URL", "Published At", "Empty"],
            [
                "Ep 1",
                "https://youtu.be/dQw4w9WgXcQ",
                "Intro",
                "https://e.com/ep1",
                "2024-01-02",
                "",
            ],
        ),
        {},
        [],
    )
    [item] = items(entries)
    assert item.title == "Ep 1"
    assert item.source == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert item.origin == "t.csv row 2"
    assert item.metadata == {
        "description": "Intro",
        "episode_url": "https://e.com/ep1",
        "published_at": "2024-01-02",
    }


def test_source_type_column_picks_the_link_and_the_other_link_is_kept_as_metadata() -> None:
    entries = sheet_entries(
        table(
            ["youtube_url", "mp3_url", "source_type"],
            ["https://youtu.be/dQw4w9WgXcQ", "https://e.com/1.mp3", "mp3"],
            ["https://youtu.be/dQw4w9WgXcQ", "https://e.com/2.mp3", "youtube"],
            ["", "https://e.com/3.mp3", ""],
        ),
        {},
        [],
    )
    result = items(entries)
    assert [(i.source_type, i.source) for i in result] == [
        (SourceType.HTTP_MEDIA, "https://e.com/1.mp3"),
        (SourceType.YOUTUBE, "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        (SourceType.HTTP_MEDIA, "https://e.com/3.mp3"),
    ]
    assert result[0].metadata == {"youtube_url": "https://youtu.be/dQw4w9WgXcQ"}


def test_invalid_rows_are_reported_by_row_while_valid_rows_come_through() -> None:
    entries = sheet_entries(
        table(
            ["url", "title"],
            ["https://e.com/1.mp3", "Good"],
            ["ftp://e.com/2.mp3", "Bad scheme"],
            ["", "No link"],
            ["https://e.com/4.mp3", ""],
        ),
        {},
        [],
    )
    assert [(i.origin, i.title) for i in items(entries)] == [
        ("t.csv row 2", "Good"),
        ("t.csv row 5", None),
    ]
    invalid = [e for e in entries if isinstance(e, InvalidEntry)]
    assert [(e.origin, e.value) for e in invalid] == [
        ("t.csv row 3", "ftp://e.com/2.mp3"),
        ("t.csv row 4", "No link"),
    ]
    assert invalid[1].reason == "row has no link in its link column"


def test_override_uses_the_named_column() -> None:
    entries = sheet_entries(
        table(["Where", "What"], ["https://e.com/1.mp3", "A talk"]),
        {"url": "where", "title": "WHAT"},
        [],
    )
    assert [(i.source, i.title) for i in items(entries)] == [("https://e.com/1.mp3", "A talk")]


def test_sheet_without_link_column_is_rejected() -> None:
    with pytest.raises(PermanentError, match="its columns are: 'Name', 'Where'"):
        sheet_entries(table(["Name", "Where"], ["a", "b"]), {}, [])


def test_a_headerless_column_of_links_keeps_its_first_row() -> None:
    entries = sheet_entries(
        Table(
            name="t.csv",
            headers=["https://e.com/1.mp3"],
            header_row=1,
            rows=[(2, ["https://e.com/2.mp3"])],
        ),
        {},
        [],
    )
    assert [(i.source, i.origin) for i in items(entries)] == [
        ("https://e.com/1.mp3", "t.csv row 1"),
        ("https://e.com/2.mp3", "t.csv row 2"),
    ]


def test_relative_file_paths_in_a_sheet_resolve_against_base_dirs(tmp_path: Path) -> None:
    (tmp_path / "talk.wav").write_bytes(b"x")
    entries = sheet_entries(table(["file", "name"], ["talk.wav", "Talk"]), {}, [tmp_path])
    [item] = items(entries)
    assert (item.source, item.source_type, item.title) == (
        str(tmp_path / "talk.wav"),
        SourceType.LOCAL_FILE,
        "Talk",
    )


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Show Notes", "show_notes"),
        ("publishedAt", "published_at"),
        ("Título", "título"),
        ("  #", ""),
    ],
)
def test_metadata_keys_are_snake_case(header: str, key: str) -> None:
    assert snake_case(header) == key


@pytest.mark.parametrize("header", ["Hints", "Vocabulary", "Prompt", "Key words"])
def test_a_hints_column_becomes_the_items_hints(header: str) -> None:
    entries = sheet_entries(
        table(["Link", header], ["https://e.com/1.mp3", "Sweynheim, Pannartz"]), {}, []
    )
    [item] = items(entries)
    assert item.metadata == {"hints": "Sweynheim, Pannartz"}


def test_a_banner_row_above_the_header_is_read_past(tmp_path: Path) -> None:
    path = tmp_path / "q3.csv"
    path.write_text(
        "Episodes for the Q3 review,,\n,,\nTitle,Date,Audio URL\nOne,2024-01-01,https://e.com/1.mp3\n",
        encoding="utf-8",
    )
    entries = sheet_entries(read_table(path), {}, [])
    assert [(i.source, i.title, i.origin, i.metadata) for i in items(entries)] == [
        ("https://e.com/1.mp3", "One", "q3.csv row 4", {"date": "2024-01-01"})
    ]


def test_a_two_level_merged_header_finds_the_named_column_on_its_second_row(
    tmp_path: Path,
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Episode", None, "Media", None])
    sheet.merge_cells("A1:B1")
    sheet.merge_cells("C1:D1")
    sheet.append(["Name", "Aired", "Where", "Notes"])
    sheet.append(["Two", "2024-02-02", "https://e.com/2.mp3", "good"])
    path = tmp_path / "grouped.xlsx"
    workbook.save(path)
    entries = sheet_entries(read_table(path), {"url": "Where"}, [])
    assert [(i.source, i.title, i.origin) for i in items(entries)] == [
        ("https://e.com/2.mp3", "Two", "grouped.xlsx row 3")
    ]


def test_with_no_header_anywhere_the_first_rows_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("Name,Where\nOne,here\nTwo,there\n", encoding="utf-8")
    with pytest.raises(PermanentError, match="its columns are: 'Name', 'Where'"):
        sheet_entries(read_table(path), {}, [])


def test_a_link_column_showing_text_gives_the_link_and_the_title_stays(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Title", "Link", "Notes"])
    sheet.append(["One", "Listen", "first"])
    sheet["B2"].hyperlink = "https://e.com/1.mp3"
    sheet.append(["Two", '=HYPERLINK("https://e.com/2.mp3","Play")', "second"])
    path = tmp_path / "linked.xlsx"
    workbook.save(path)
    entries = sheet_entries(read_table(path), {}, [])
    assert [(i.source, i.title, i.metadata) for i in items(entries)] == [
        ("https://e.com/1.mp3", "One", {"description": "first"}),
        ("https://e.com/2.mp3", "Two", {"description": "second"}),
    ]


def test_a_cell_holding_several_links_gives_an_item_for_each_with_the_rows_title() -> None:
    entries = sheet_entries(
        table(
            ["url", "title"],
            ["https://e.com/1.mp3\nhttps://e.com/2.mp3", "Two parts"],
            ["https://e.com/3.mp3, https://e.com/4.mp3", "Comma"],
        ),
        {},
        [],
    )
    assert [(i.source, i.title, i.origin) for i in items(entries)] == [
        ("https://e.com/1.mp3", "Two parts", "t.csv row 2"),
        ("https://e.com/2.mp3", "Two parts", "t.csv row 2"),
        ("https://e.com/3.mp3", "Comma", "t.csv row 3"),
        ("https://e.com/4.mp3", "Comma", "t.csv row 3"),
    ]
    assert not [e for e in entries if isinstance(e, InvalidEntry)]


def test_a_data_row_that_reads_like_a_header_is_not_taken_for_one(tmp_path: Path) -> None:
    path = tmp_path / "kinds.csv"
    path.write_text("Name,Kind\nOne,video\nTwo,link\nThree,file\n", encoding="utf-8")
    with pytest.raises(PermanentError, match="its columns are: 'Name', 'Kind'"):
        sheet_entries(read_table(path), {}, [])


def test_a_sheet_whose_titles_link_to_the_media_reads_those_links(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Episode", "Aired"])
    for n in (1, 2):
        sheet.append([f"Episode {n}", f"2024-0{n}-01"])
        sheet.cell(row=n + 1, column=1).hyperlink = f"https://e.com/{n}.mp3"
    path = tmp_path / "exported.xlsx"
    workbook.save(path)
    table = read_table(path)
    entries = sheet_entries(table, {}, [])
    assert [(i.source, i.title, i.metadata) for i in items(entries)] == [
        ("https://e.com/1.mp3", "Episode 1", {"aired": "2024-01-01"}),
        ("https://e.com/2.mp3", "Episode 2", {"aired": "2024-02-01"}),
    ]
    assert table.warnings == [
        "exported.xlsx: no column is named for links, but the cells of 'Episode' link to "
        "them: read those links, titled by the text"
    ]


def test_a_link_column_with_a_name_no_one_expected_is_found_by_its_links(
    tmp_path: Path,
) -> None:
    """A sheet whose links sit under "Video" (or "Media address", "Lien") was refused as
    having no link column, though every cell below held one."""
    path = tmp_path / "videos.csv"
    path.write_text(
        "Video,Name\nhttps://youtu.be/dQw4w9WgXcQ,First\nhttps://youtu.be/9bZkp7q19f0,Second\n",
        encoding="utf-8",
    )
    table = read_table(path)
    entries = sheet_entries(table, {}, [])
    assert [(i.source, i.title) for i in items(entries)] == [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "First"),
        ("https://www.youtube.com/watch?v=9bZkp7q19f0", "Second"),
    ]
    assert table.warnings == [
        "videos.csv: no column is named for links; read the links in 'Video', the column "
        "that holds them (--column url=NAME picks another)"
    ]


def test_an_unnamed_link_column_below_a_merged_banner_keeps_titles_and_reports_bad_rows(
    tmp_path: Path,
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([])
    sheet.append(["Episodes for Q3"])
    sheet.merge_cells("A2:C2")
    sheet.append(["Episode name", "Media address", "Aired"])
    sheet.append(["One", "https://e.com/1.mp3", "2024-01-01"])
    sheet.append(["Two", "ask Sam", "2024-02-01"])
    sheet.append(["Three", '=HYPERLINK("https://e.com/3.mp3","listen")', "2024-03-01"])
    path = tmp_path / "q3.xlsx"
    workbook.save(path)
    table = read_table(path)
    entries = sheet_entries(table, {}, [])
    assert [(i.source, i.title, i.origin) for i in items(entries)] == [
        ("https://e.com/1.mp3", "One", "q3.xlsx row 4"),
        ("https://e.com/3.mp3", "Three", "q3.xlsx row 6"),
    ]
    [invalid] = [e for e in entries if isinstance(e, InvalidEntry)]
    assert (invalid.origin, invalid.value) == ("q3.xlsx row 5", "ask Sam")
    assert "row 2 above its header (row 3) skipped as a title" in table.warnings[-1]


def test_a_column_of_mostly_other_text_is_not_taken_for_links(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(
        "Name,Remarks\nOne,see https://e.com/1\nTwo,fine\nThree,ok\nFour,https://e.com/4.mp3\n"
        "Five,later\n",
        encoding="utf-8",
    )
    with pytest.raises(PermanentError, match="its columns are: 'Name', 'Remarks'"):
        sheet_entries(read_table(path), {}, [])


def test_a_sheet_with_a_source_column_of_words_runs_from_its_url_column(tmp_path: Path) -> None:
    path = tmp_path / "sources.csv"
    path.write_text(
        "Title,Source,URL\nTalk,YouTube,https://youtu.be/dQw4w9WgXcQ\n"
        "Episode,Podcast,https://e.com/2.mp3\n",
        encoding="utf-8",
    )
    entries = sheet_entries(read_table(path), {}, [])
    assert [(i.source, i.title) for i in items(entries)] == [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "Talk"),
        ("https://e.com/2.mp3", "Episode"),
    ]
    assert not [e for e in entries if isinstance(e, InvalidEntry)]


def test_a_merged_banner_whose_word_names_a_link_column_is_passed_over(tmp_path: Path) -> None:
    """ "Source" merged over "URL | Title" was taken for the header: the titles were lost and
    the real header was reported as a row that is no link."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Source", None])
    sheet.merge_cells("A1:B1")
    sheet.append(["URL", "Title"])
    sheet.append(["https://e.com/1.mp3", "One"])
    path = tmp_path / "banner.xlsx"
    workbook.save(path)
    table = read_table(path)
    entries = sheet_entries(table, {}, [])
    assert [(i.source, i.title, i.origin) for i in items(entries)] == [
        ("https://e.com/1.mp3", "One", "banner.xlsx row 3")
    ]
    assert not [e for e in entries if isinstance(e, InvalidEntry)]


def test_a_column_of_bare_video_ids_under_video_id_is_the_link_column() -> None:
    entries = sheet_entries(table(["Video ID", "Title"], ["dQw4w9WgXcQ", "Never"]), {}, [])
    assert [(i.source, i.title) for i in items(entries)] == [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "Never")
    ]


def test_lines_of_another_delimiter_read_as_one_cell_are_not_taken_for_links(
    tmp_path: Path,
) -> None:
    path = tmp_path / "piped.csv"
    path.write_text("url|title\nhttps://e.com/1.mp3|One\n", encoding="utf-8")
    with pytest.raises(PermanentError, match=re.escape("its columns are: 'url|title'")):
        sheet_entries(read_table(path), {}, [])


def test_a_column_mapping_given_by_hand_still_names_the_real_columns(tmp_path: Path) -> None:
    path = tmp_path / "videos.csv"
    path.write_text("Video,Name,Blurb\nhttps://e.com/1.mp3,One,first\n", encoding="utf-8")
    entries = sheet_entries(read_table(path), {"description": "Blurb"}, [])
    assert [(i.source, i.title, i.metadata) for i in items(entries)] == [
        ("https://e.com/1.mp3", "One", {"description": "first"})
    ]
    with pytest.raises(PermanentError, match="no column 'Nope'; its columns are: 'Video', 'Name'"):
        sheet_entries(read_table(path), {"description": "Nope"}, [])
    # The links' column given another role: no column is left to take the links from.
    with pytest.raises(PermanentError, match="no column of links I recognise"):
        sheet_entries(read_table(path), {"title": "Video"}, [])
