import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.ingest import InvalidEntry, load_inputs
from bulk_transcribe.models import SourceType

from .conftest import XlsxWriter

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_mixed_inputs_are_combined_in_order(
    tmp_path: Path, media_file: Callable[[str], Path], write_xlsx: XlsxWriter
) -> None:
    (tmp_path / "links.txt").write_text("https://e.com/1.mp3\n", encoding="utf-8")
    (tmp_path / "links.csv").write_text("url\nhttps://e.com/2.mp3\n", encoding="utf-8")
    write_xlsx(tmp_path / "book.xlsx", {"S": [["link"], ["https://e.com/3.mp3"]]})
    media_file("rec/a.mp3")
    single = media_file("single.wav")
    result = load_inputs(
        [
            "links.txt",
            "links.csv",
            "book.xlsx",
            "rec",
            "single.wav",
            "https://youtu.be/dQw4w9WgXcQ",
        ],
        cwd=tmp_path,
    )
    assert [(i.source, i.origin) for i in result.items] == [
        ("https://e.com/1.mp3", "links.txt line 1"),
        ("https://e.com/2.mp3", "links.csv row 2"),
        ("https://e.com/3.mp3", "book.xlsx row 2"),
        (str(tmp_path / "rec" / "a.mp3"), "folder rec"),
        (str(single), "argument 5"),
        (VIDEO, "argument 6"),
    ]
    assert result.invalid == []
    assert result.warnings == []


def test_stdin_dash_reads_a_text_list(tmp_path: Path) -> None:
    stdin = io.StringIO("# pasted\ndQw4w9WgXcQ\n\nnonsense\n")
    result = load_inputs(["-"], stdin=stdin, cwd=tmp_path)
    assert [i.source for i in result.items] == [VIDEO]
    assert result.invalid == [
        InvalidEntry("stdin line 4", "nonsense", "not a URL or an existing file")
    ]


def test_duplicates_across_inputs_are_merged_and_counted(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "https://youtu.be/dQw4w9WgXcQ?si=1\nhttps://e.com/x.mp3?utm_source=nl\n", encoding="utf-8"
    )
    (tmp_path / "b.csv").write_text(
        "title,url\nNever Gonna,https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3\n"
        "Dup,https://E.com/x.mp3\n",
        encoding="utf-8",
    )
    result = load_inputs(["a.txt", "b.csv", "dQw4w9WgXcQ"], cwd=tmp_path)
    assert [(i.source, i.title, i.origin) for i in result.items] == [
        (VIDEO, "Never Gonna", "a.txt line 1"),
        ("https://e.com/x.mp3", "Dup", "a.txt line 2"),
    ]
    assert result.duplicates_merged == 3


def test_a_link_is_kept_without_its_tracking_parameters(tmp_path: Path) -> None:
    """Later sessions find earlier work by the item's link: the same episode from another
    newsletter (another utm_source) was transcribed, and paid for, again."""
    (tmp_path / "week1.txt").write_text(
        "https://e.com/ep.mp3?utm_source=nl&utm_medium=email\n"
        "https://e.com/get?id=7&fbclid=abc&Sig=x%2By\n",
        encoding="utf-8",
    )
    (tmp_path / "week2.txt").write_text("https://e.com/ep.mp3?utm_source=social\n", "utf-8")
    week1 = load_inputs(["week1.txt"], cwd=tmp_path).items
    week2 = load_inputs(["week2.txt"], cwd=tmp_path).items
    assert [i.source for i in week1] == ["https://e.com/ep.mp3", "https://e.com/get?id=7&Sig=x%2By"]
    assert [i.source for i in week2] == ["https://e.com/ep.mp3"]


def test_xlsx_sheet_and_column_overrides_are_applied(
    tmp_path: Path, write_xlsx: XlsxWriter
) -> None:
    write_xlsx(
        tmp_path / "book.xlsx",
        {
            "First": [["url"], ["https://e.com/first.mp3"]],
            "Second": [["Where", "Called"], ["https://e.com/second.mp3", "Second one"]],
        },
    )
    result = load_inputs(
        ["book.xlsx"], sheet="Second", column_map={"url": "Where", "title": "called"}, cwd=tmp_path
    )
    assert [(i.source, i.title, i.origin) for i in result.items] == [
        ("https://e.com/second.mp3", "Second one", "book.xlsx sheet 'Second' row 2")
    ]


def test_sheet_option_without_an_xlsx_input_is_reported(tmp_path: Path) -> None:
    result = load_inputs([VIDEO], sheet="Second", cwd=tmp_path)
    assert result.warnings == ["--sheet Second was ignored: it applies only to .xlsx inputs"]


def test_cp1252_csv_warning_reaches_the_result(tmp_path: Path) -> None:
    (tmp_path / "links.csv").write_bytes("url;title\nhttps://e.com/a.mp3;Café\n".encode("cp1252"))
    result = load_inputs(["links.csv"], cwd=tmp_path)
    assert result.items[0].title == "Café"
    assert result.warnings == ["links.csv is not UTF-8; read it as cp1252"]


def test_list_entries_resolve_relative_to_the_list_then_cwd(
    tmp_path: Path, media_file: Callable[[str], Path]
) -> None:
    media_file("lists/near.mp3")
    media_file("far.mp3")
    (tmp_path / "lists" / "l.txt").write_text("near.mp3\nfar.mp3\nnowhere.mp3\n", encoding="utf-8")
    result = load_inputs(["lists/l.txt"], cwd=tmp_path)
    assert [i.source for i in result.items] == [
        str(tmp_path / "lists" / "near.mp3"),
        str(tmp_path / "far.mp3"),
    ]
    assert [(e.origin, e.value) for e in result.invalid] == [("l.txt line 3", "nowhere.mp3")]
    assert "looked in" in result.invalid[0].reason


def test_folder_without_media_gives_a_warning(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.pdf").write_bytes(b"x")
    result = load_inputs(["docs"], cwd=tmp_path)
    assert result.items == []
    assert result.warnings[0].startswith("folder docs contains no media files")


@pytest.mark.parametrize(
    ("argument", "fragment"),
    [
        ("missing.csv", "cannot use 'missing.csv': not a URL or an existing file"),
        ("ftp://e.com/a.mp3", "unsupported URL scheme 'ftp'"),
        ("notes.pdf", "cannot use 'notes.pdf': unsupported file type '.pdf'"),
        ("old.xls", "save old .xls workbooks as .xlsx"),
    ],
)
def test_unusable_inputs_raise_naming_the_input(
    tmp_path: Path, argument: str, fragment: str
) -> None:
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(PermanentError) as info:
        load_inputs([argument], cwd=tmp_path)
    assert info.value.kind is ErrorKind.INVALID_INPUT
    assert fragment in str(info.value)


def test_a_url_argument_that_is_not_a_file_is_classified(tmp_path: Path) -> None:
    result = load_inputs(["https://feeds.example.com/show"], cwd=tmp_path)
    assert [i.source_type for i in result.items] == [SourceType.PODCAST_FEED]


def test_very_long_url_argument_is_not_mistaken_for_a_path(tmp_path: Path) -> None:
    url = "https://e.com/" + "a" * 5000 + ".mp3"
    assert load_inputs([url], cwd=tmp_path).items[0].source == url


def test_unknown_column_role_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="unknown column role 'colour'"):
        load_inputs([VIDEO], column_map={"colour": "x"}, cwd=tmp_path)


def test_five_thousand_row_sheet_is_fast(tmp_path: Path) -> None:
    rows = [f"https://e.com/{i % 4000}.mp3,Episode {i}" for i in range(5000)]
    (tmp_path / "big.csv").write_text("url,title\n" + "\n".join(rows), encoding="utf-8")
    started = time.perf_counter()
    result = load_inputs(["big.csv"], cwd=tmp_path)
    assert time.perf_counter() - started < 3
    assert (len(result.items), result.duplicates_merged) == (4000, 1000)
    assert result.items[-1].origin == "big.csv row 4001"


@pytest.mark.parametrize(
    "first", [[["How to use this workbook"], ["Links are on the Episodes sheet"]], []]
)
def test_without_sheet_a_read_me_or_empty_first_sheet_gives_way_to_the_one_with_links(
    tmp_path: Path, write_xlsx: XlsxWriter, first: list[list[str]]
) -> None:
    write_xlsx(
        tmp_path / "book.xlsx",
        {"Read me": first, "Episodes": [["Title", "URL"], ["One", "https://e.com/1.mp3"]]},
    )
    result = load_inputs(["book.xlsx"], cwd=tmp_path)
    assert [(i.source, i.title, i.origin) for i in result.items] == [
        ("https://e.com/1.mp3", "One", "book.xlsx sheet 'Episodes' row 2")
    ]
    assert result.warnings == [
        "book.xlsx: its first sheet 'Read me' has no links to read; read sheet 'Episodes', "
        "the first that has (--sheet picks another)"
    ]


def test_a_workbook_with_links_on_no_sheet_names_its_sheets_and_sheet(
    tmp_path: Path, write_xlsx: XlsxWriter
) -> None:
    write_xlsx(tmp_path / "book.xlsx", {"Notes": [["Name"], ["x"]], "More": [["Where"], ["y"]]})
    with pytest.raises(PermanentError) as raised:
        load_inputs(["book.xlsx"], cwd=tmp_path)
    assert raised.value.message.endswith(
        "; no other sheet ('More') has one either: pick one with --sheet NAME"
    )


def test_a_named_sheet_without_links_is_an_error_not_a_detour(
    tmp_path: Path, write_xlsx: XlsxWriter
) -> None:
    write_xlsx(
        tmp_path / "book.xlsx",
        {"Notes": [["Name"], ["x"]], "Episodes": [["URL"], ["https://e.com/1.mp3"]]},
    )
    with pytest.raises(PermanentError, match="has no column of links I recognise"):
        load_inputs(["book.xlsx"], sheet="Notes", cwd=tmp_path)


def test_a_workbook_saved_as_a_txt_list_is_read_as_the_workbook(
    tmp_path: Path, write_xlsx: XlsxWriter
) -> None:
    book = write_xlsx(tmp_path / "book.xlsx", {"Sheet": [["url"], ["https://e.com/1.mp3"]]})
    (tmp_path / "links.txt").write_bytes(book.read_bytes())
    result = load_inputs(["links.txt"], cwd=tmp_path)
    assert [(i.source, i.origin) for i in result.items] == [
        ("https://e.com/1.mp3", "links.txt row 2")
    ]
    assert result.warnings == ["links.txt is an Excel workbook, not text: read it as one"]
    assert result.invalid == []


def test_a_web_page_saved_as_a_txt_list_is_named_not_read_line_by_line(tmp_path: Path) -> None:
    (tmp_path / "links.txt").write_text(
        '<!DOCTYPE html>\n<html><body>\n<a href="https://e.com/1.mp3">One</a>\n</body></html>\n',
        encoding="utf-8",
    )
    with pytest.raises(PermanentError, match=r"links\.txt is a web page \(HTML\), not a list"):
        load_inputs(["links.txt"], cwd=tmp_path)


def test_rows_skipped_above_a_header_are_named_in_a_warning(tmp_path: Path) -> None:
    (tmp_path / "q3.csv").write_text(
        "Episodes for the Q3 review\nchecked by A.\nTitle,URL\nOne,https://e.com/1.mp3\n",
        encoding="utf-8",
    )
    result = load_inputs(["q3.csv"], cwd=tmp_path)
    assert [i.origin for i in result.items] == ["q3.csv row 4"]
    assert result.warnings == [
        "q3.csv: its header is row 3; rows 1-2 were read as a title above it and skipped"
    ]


def test_a_sheet_piped_to_stdin_is_read_as_a_sheet(tmp_path: Path) -> None:
    stdin = io.StringIO("Title;Audio URL\nOne;https://e.com/1.mp3\nTwo;https://e.com/2.mp3\n")
    result = load_inputs(["-"], stdin=stdin, cwd=tmp_path)
    assert [(i.source, i.title, i.origin) for i in result.items] == [
        ("https://e.com/1.mp3", "One", "stdin row 2"),
        ("https://e.com/2.mp3", "Two", "stdin row 3"),
    ]
    assert result.invalid == []


@pytest.mark.parametrize(
    "first", ["# my links, 2024", "https://e.com/1.mp3, https://e.com/9.mp3", "Name,Where"]
)
def test_a_list_whose_first_line_has_a_comma_stays_a_list(tmp_path: Path, first: str) -> None:
    stdin = io.StringIO(f"{first}\nhttps://e.com/2.mp3\n")
    result = load_inputs(["-"], stdin=stdin, cwd=tmp_path)
    assert "https://e.com/2.mp3" in [i.source for i in result.items]
    assert all(i.origin.startswith("stdin line") for i in result.items)


def test_a_hidden_first_sheet_is_not_read_before_the_sheet_excel_shows(tmp_path: Path) -> None:
    """A workbook opening on a hidden lookup sheet (links of an old list) ran that sheet,
    which the user never sees, instead of the one they filled in."""
    workbook = Workbook()
    lookup = workbook.active
    lookup.title = "Lookup"
    lookup.append(["Title", "URL"])
    lookup.append(["Old", "https://e.com/old.mp3"])
    lookup.sheet_state = "hidden"
    shown = workbook.create_sheet("Episodes")
    shown.append(["Title", "URL"])
    shown.append(["New", "https://e.com/new.mp3"])
    workbook.save(tmp_path / "book.xlsx")
    result = load_inputs(["book.xlsx"], cwd=tmp_path)
    assert [(i.source, i.title) for i in result.items] == [("https://e.com/new.mp3", "New")]
    named = load_inputs(["book.xlsx"], sheet="Lookup", cwd=tmp_path)
    assert [i.title for i in named.items] == ["Old"]


def test_cells_copied_from_a_sheet_with_an_unnamed_link_column_are_read_as_the_sheet(
    tmp_path: Path,
) -> None:
    """Pasted "Title<tab>Video" rows were read as lines: the titles survived by luck, and
    the header was reported as an entry that is no link (so the run exited 1)."""
    pasted = "Title\tVideo\r\nFirst\thttps://e.com/1.mp3\r\nSecond\thttps://e.com/2.mp3\r\n"
    (tmp_path / "copied.txt").write_text(pasted, encoding="utf-8")
    for result in (
        load_inputs(["copied.txt"], cwd=tmp_path),
        load_inputs(["-"], stdin=io.StringIO(pasted), cwd=tmp_path),
    ):
        assert [(i.source, i.title) for i in result.items] == [
            ("https://e.com/1.mp3", "First"),
            ("https://e.com/2.mp3", "Second"),
        ]
        assert not result.invalid
        assert any("read the links in 'Video'" in w for w in result.warnings)


def test_a_list_opening_with_a_comment_holding_a_tab_stays_a_list(tmp_path: Path) -> None:
    (tmp_path / "links.txt").write_text("# from Bob\tmonday\nhttps://e.com/1.mp3\n", "utf-8")
    result = load_inputs(["links.txt"], cwd=tmp_path)
    assert [i.source for i in result.items] == ["https://e.com/1.mp3"]
    assert not result.invalid


def test_a_markdown_note_gives_the_links_and_media_it_names_and_nothing_else(
    tmp_path: Path,
) -> None:
    """An Obsidian note listing what to transcribe was "unsupported file type '.md'"."""
    (tmp_path / "Recording 2024-05-01.m4a").write_bytes(b"\x00" * 16)
    note = tmp_path / "To transcribe.md"
    note.write_text(
        "---\nsource: https://e.com/property.mp3\ntags: [podcasts]\n---\n"
        "# Podcasts to transcribe\n\n"
        "Prose without a link, and a link to [[Another note]].\n"
        "- [Episode 7: Gardens](https://e.com/ep7.mp3)\n"
        "- Great talk at https://youtu.be/dQw4w9WgXcQ, really.\n"
        "- ![[Recording 2024-05-01.m4a]]\n"
        "- [[gone.mp3|The lost one]]\n",
        encoding="utf-8",
    )
    result = load_inputs([str(note)], cwd=tmp_path)
    assert [(i.source, i.title, i.origin) for i in result.items] == [
        ("https://e.com/ep7.mp3", "Episode 7: Gardens", "To transcribe.md line 8"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", None, "To transcribe.md line 9"),
        (str(tmp_path / "Recording 2024-05-01.m4a"), None, "To transcribe.md line 10"),
    ]
    assert [(e.origin, e.value) for e in result.invalid] == [
        ("To transcribe.md line 11", "gone.mp3")
    ]


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_input_is_refused_not_taken_for_the_current_folder(
    tmp_path: Path, empty: str
) -> None:
    """`run "$LIST"` with the variable unset queued every media file under the current
    folder (5,067 of them in one try), a paid run with a cloud engine."""
    (tmp_path / "talk.mp3").write_bytes(b"\x00" * 16)
    with pytest.raises(PermanentError) as caught:
        load_inputs([empty], cwd=tmp_path)
    assert caught.value.message.startswith("INPUT 1 is empty (an unset variable in a script?)")
    assert load_inputs(["."], cwd=tmp_path).items  # the folder, when asked for


def test_a_file_named_in_another_encoding_is_reported_and_the_rest_of_the_folder_runs(
    tmp_path: Path,
) -> None:
    """One file whose name is Latin-1 bytes ("café" from an old zip) stopped the whole run
    with a traceback when the session was stored."""
    folder = tmp_path / "talks"
    folder.mkdir()
    (folder / "fine.wav").write_bytes(b"\x00" * 16)
    bad = os.fsdecode(bytes(folder) + b"/caf\xe9 talk.wav")
    Path(bad).write_bytes(b"\x00" * 16)
    result = load_inputs(["talks"], cwd=tmp_path)
    assert [Path(i.source).name for i in result.items] == ["fine.wav"]
    [invalid] = result.invalid
    assert invalid.value.endswith("caf\\xe9 talk.wav")
    assert invalid.reason.startswith("its name is not UTF-8 text")
    invalid.value.encode("utf-8")  # storable, unlike the name itself
    with pytest.raises(PermanentError, match="its name is not UTF-8 text"):
        load_inputs([bad], cwd=tmp_path)
