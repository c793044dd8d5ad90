import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.ingest.tables import read_table

from .conftest import XlsxWriter


def test_semicolon_csv_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text("Title;URL\nOne;https://example.com/1.mp3\n", encoding="utf-8")
    table = read_table(path)
    assert table.headers == ["Title", "URL"]
    assert table.rows == [(2, ["One", "https://example.com/1.mp3"])]


def test_tab_separated_csv_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text("title\turl\nA, B and C\thttps://example.com/1.mp3\n", encoding="utf-8")
    assert read_table(path).rows == [(2, ["A, B and C", "https://example.com/1.mp3"])]


def test_single_column_tsv_falls_back_to_tab(tmp_path: Path) -> None:
    path = tmp_path / "links.tsv"
    path.write_text("url\nhttps://example.com/a,b.mp3\n", encoding="utf-8")
    assert read_table(path).rows == [(2, ["https://example.com/a,b.mp3"])]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_bytes("url,title\nhttps://e.com/a.mp3,Café\n".encode("utf-8-sig"))
    table = read_table(path)
    assert table.headers == ["url", "title"]
    assert table.warnings == []
    assert table.rows[0][1][1] == "Café"


def test_cp1252_file_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_bytes("url;title\nhttps://e.com/a.mp3;Café – “live”\n".encode("cp1252"))
    table = read_table(path)
    assert table.rows[0][1][1] == "Café – “live”"
    assert table.warnings == ["links.csv is not UTF-8; read it as cp1252"]


def test_row_numbers_count_blank_rows_and_quoted_newlines_like_a_spreadsheet(
    tmp_path: Path,
) -> None:
    path = tmp_path / "links.csv"
    path.write_text(
        'url,notes\nhttps://e.com/1.mp3,"two\nlines"\n,\nhttps://e.com/2.mp3,x\n', encoding="utf-8"
    )
    assert [n for n, _ in read_table(path).rows] == [2, 4]


def test_short_rows_are_padded_to_the_header(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text("url,title,notes\nhttps://e.com/1.mp3\n", encoding="utf-8")
    assert read_table(path).rows == [(2, ["https://e.com/1.mp3", "", ""])]


def test_empty_csv_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(PermanentError, match=r"empty\.csv is empty: it has no rows") as info:
        read_table(path)
    assert info.value.kind is ErrorKind.INVALID_INPUT


def test_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("url,title\n\n", encoding="utf-8")
    with pytest.raises(PermanentError, match=r"header\.csv has no rows below its header"):
        read_table(path)


def test_xlsx_reads_the_first_sheet_by_default_and_another_by_name(
    tmp_path: Path, write_xlsx: XlsxWriter
) -> None:
    path = write_xlsx(
        tmp_path / "book.xlsx",
        {
            "Videos": [["url", "title"], ["https://e.com/1.mp3", "One"]],
            "Podcasts": [["Link", "Episode"], ["https://e.com/2.mp3", 42]],
        },
    )
    first = read_table(path)
    assert first.name == "book.xlsx sheet 'Videos'"
    assert first.rows == [(2, ["https://e.com/1.mp3", "One"])]
    second = read_table(path, sheet="Podcasts")
    assert second.headers == ["Link", "Episode"]
    assert second.rows == [(2, ["https://e.com/2.mp3", "42"])]


def test_xlsx_with_one_sheet_is_named_by_file_only(tmp_path: Path, write_xlsx: XlsxWriter) -> None:
    path = write_xlsx(tmp_path / "one.xlsx", {"Sheet": [["url"], ["https://e.com/1.mp3"]]})
    assert read_table(path).name == "one.xlsx"


def test_unknown_sheet_lists_the_sheet_names(tmp_path: Path, write_xlsx: XlsxWriter) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", {"Videos": [["url"]], "Podcasts": [["url"]]})
    with pytest.raises(PermanentError) as info:
        read_table(path, sheet="Missing")
    assert (
        str(info.value)
        == "book.xlsx has no sheet named 'Missing'; its sheets are: 'Videos', 'Podcasts'"
    )


def test_corrupt_xlsx_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(PermanentError, match=r"broken\.xlsx could not be read as an Excel"):
        read_table(path)


def test_empty_xlsx_sheet_has_no_rows(tmp_path: Path, write_xlsx: XlsxWriter) -> None:
    path = write_xlsx(tmp_path / "blank.xlsx", {"Sheet": []})
    with pytest.raises(PermanentError, match="has no rows"):
        read_table(path)


def _edit_first_sheet(path: Path, edit: Callable[[str], str]) -> None:
    """Rewrite the first sheet's XML inside the workbook at `path`."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    parts["xl/worksheets/sheet1.xml"] = edit(parts["xl/worksheets/sheet1.xml"].decode()).encode()
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)


def _save_as_excel_does(path: Path, formula_cell: str, shown: str) -> None:
    """Give `formula_cell` the value Excel saves beside a formula (openpyxl writes none)."""

    def with_value(sheet: str) -> str:
        start = sheet.index(f'<c r="{formula_cell}"')
        end = sheet.index("</c>", start)
        cell = sheet[start:end].replace("<v />", f"<v>{shown}</v>").replace(">", ' t="str">', 1)
        return sheet[:start] + cell + sheet[end:]

    _edit_first_sheet(path, with_value)


def test_xlsx_cells_showing_text_keep_the_links_they_point_to(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Title", "Link"])
    sheet.append(["Inserted link", "Listen"])
    sheet["B2"].hyperlink = "https://e.com/inserted.mp3"
    sheet.append(["Formula", '=HYPERLINK("https://e.com/formula.mp3","Play")'])
    sheet.append(["Computed", "=CONCAT(A2, A3)"])
    path = tmp_path / "linked.xlsx"
    workbook.save(path)
    _save_as_excel_does(path, "B3", "Play")
    _save_as_excel_does(path, "B4", "Inserted linkFormula")
    table = read_table(path)
    assert table.rows == [
        (2, ["Inserted link", "Listen"]),
        (3, ["Formula", "Play"]),
        (4, ["Computed", "Inserted linkFormula"]),
    ]
    assert table.links == {
        (2, 1): "https://e.com/inserted.mp3",
        (3, 1): "https://e.com/formula.mp3",
    }


def test_formula_links_are_read_from_a_sheet_without_inserted_links(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(["Title", "Link"])
    workbook.active.append(["Formula", '=HYPERLINK("https://e.com/formula.mp3","Play")'])
    path = tmp_path / "formulas.xlsx"
    workbook.save(path)
    _save_as_excel_does(path, "B2", "Play")
    table = read_table(path)
    assert table.rows == [(2, ["Formula", "Play"])]
    assert table.links == {(2, 1): "https://e.com/formula.mp3"}


def test_links_inserted_in_the_chosen_sheet_are_read_when_the_first_has_none(
    tmp_path: Path,
) -> None:
    workbook = Workbook()
    workbook.active.title = "Read me"
    workbook.active.append(["Note"])
    workbook.active.append(["Paste links on the next sheet"])
    episodes = workbook.create_sheet("Episodes")
    episodes.append(["Title", "Link"])
    episodes.append(["One", "Listen"])
    episodes["B2"].hyperlink = "https://e.com/one.mp3"
    path = tmp_path / "two-sheets.xlsx"
    workbook.save(path)
    assert read_table(path, sheet="Episodes").links == {(2, 1): "https://e.com/one.mp3"}
    assert read_table(path, sheet="Read me").links == {}


def test_every_row_is_read_when_the_file_misstates_the_sheet_size(tmp_path: Path) -> None:
    # Some programs write <dimension ref="A1"/> whatever the sheet holds; a reader that
    # trusts it stops after the first row.
    workbook = Workbook()
    workbook.active.append(["url", "title"])
    for number in range(3):
        workbook.active.append([f"https://e.com/{number}.mp3", f"Talk {number}"])
    path = tmp_path / "misstated.xlsx"
    workbook.save(path)
    with zipfile.ZipFile(path) as book:
        assert b'<dimension ref="A1:B4" />' in book.read("xl/worksheets/sheet1.xml")
    _edit_first_sheet(path, lambda sheet: sheet.replace('ref="A1:B4"', 'ref="A1"'))
    assert [cells for _, cells in read_table(path).rows] == [
        [f"https://e.com/{number}.mp3", f"Talk {number}"] for number in range(3)
    ]


def test_a_title_row_above_the_header_can_be_read_past(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Episodes for the Q3 review"])
    sheet.merge_cells("A1:C1")
    sheet.append(["Title", "Date", "Audio URL"])
    sheet.append(["One", "2024-01-01", "https://e.com/1.mp3"])
    path = tmp_path / "banner.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.headers == ["Episodes for the Q3 review"]
    below = table.with_header_at(1)
    assert (below.header_row, below.headers) == (2, ["Title", "Date", "Audio URL"])
    assert below.rows == [(3, ["One", "2024-01-01", "https://e.com/1.mp3"])]


@pytest.mark.parametrize("name", ["shared.csv", "shared.tsv", "shared.xlsx"])
def test_a_sign_in_page_saved_as_a_sheet_is_named_a_web_page(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(
        "\ufeff<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in to "
        "continue</body></html>\n",
        encoding="utf-8",
    )
    with pytest.raises(PermanentError, match=rf"{name} is a web page \(HTML\), not a sheet"):
        read_table(path)


def test_a_password_protected_workbook_says_to_remove_the_password(tmp_path: Path) -> None:
    # Excel saves an encrypted workbook as a compound file, not a zip: its signature and a
    # first sector of zeros are what openpyxl meets.
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088))
    with pytest.raises(PermanentError, match=r"locked\.xlsx is password-protected") as info:
        read_table(path)
    assert "remove its password" in str(info.value)


def test_a_zero_byte_workbook_is_called_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    path.write_bytes(b"")
    with pytest.raises(PermanentError, match=r"blank\.xlsx is empty \(0 bytes\)"):
        read_table(path)


def test_a_workbook_cut_short_is_called_incomplete(tmp_path: Path, write_xlsx: XlsxWriter) -> None:
    whole = write_xlsx(tmp_path / "whole.xlsx", {"Sheet": [["url"], ["https://e.com/1.mp3"]]})
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(PermanentError, match=r"cut\.xlsx is incomplete \(a download or copy"):
        read_table(path)


def test_a_workbook_named_csv_is_read_as_a_workbook(tmp_path: Path, write_xlsx: XlsxWriter) -> None:
    book = write_xlsx(tmp_path / "book.xlsx", {"Sheet": [["url"], ["https://e.com/1.mp3"]]})
    path = tmp_path / "export.csv"
    path.write_bytes(book.read_bytes())
    table = read_table(path)
    assert (table.headers, table.rows) == (["url"], [(2, ["https://e.com/1.mp3"])])
    assert table.warnings == ["export.csv is an Excel workbook, not text: read it as one"]


def test_an_old_or_locked_workbook_named_csv_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088))
    with pytest.raises(PermanentError, match=r"export\.csv is an Excel 97-2003 or password"):
        read_table(path)


def test_a_csvs_hyperlink_formulas_read_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    """Saved as text, a =HYPERLINK cell is its formula: the text it shows is the cell's,
    its web address the cell's link; other formulas and other addresses stay as written."""
    path = tmp_path / "links.csv"
    path.write_text(
        "Title,Link\n"
        'One,"=HYPERLINK(""https://e.com/1.mp3"",""Listen"")"\n'
        'Two,"=HYPERLINK(""https://e.com/2.mp3"")"\n'
        'Three,"=HYPERLINK(""mailto:a@e.com"",""Mail"")"\n'
        'Four,"=CONCAT(""https://"",""e.com"")"\n',
        encoding="utf-8",
    )
    table = read_table(path)
    assert [cells for _, cells in table.rows] == [
        ["One", "Listen"],
        ["Two", "https://e.com/2.mp3"],
        ["Three", '=HYPERLINK("mailto:a@e.com","Mail")'],
        ["Four", '=CONCAT("https://","e.com")'],
    ]
    assert table.links == {(2, 1): "https://e.com/1.mp3", (3, 1): "https://e.com/2.mp3"}


def test_a_hyperlink_formula_a_script_wrote_shows_its_text(tmp_path: Path) -> None:
    """openpyxl and pandas keep no computed values: the formula's own text stands in."""
    workbook = Workbook()
    workbook.active.append(["Title", "Link"])
    workbook.active.append(["One", '=HYPERLINK("https://e.com/1.mp3"; "Play ""one""")'])
    path = tmp_path / "script.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.rows == [(2, ["One", 'Play "one"'])]
    assert table.links == {(2, 1): "https://e.com/1.mp3"}


def test_a_cell_longer_than_the_csv_modules_limit_is_read(tmp_path: Path) -> None:
    """Show notes of 200 KB in one cell stopped the run with a traceback."""
    path = tmp_path / "notes.csv"
    path.write_text(
        f'url,title,description\nhttps://e.com/a.mp3,A,"{"x" * 200_000}"\nhttps://e.com/b.mp3,B,b\n',
        encoding="utf-8",
    )
    table = read_table(path)
    assert [(cells[0], len(cells[2])) for _, cells in table.rows] == [
        ("https://e.com/a.mp3", 200_000),
        ("https://e.com/b.mp3", 1),
    ]


def test_rows_a_quote_left_open_swallowed_are_pointed_at(tmp_path: Path) -> None:
    """An open quote in a title read every row below it into that title: those items were
    lost without a word."""
    path = tmp_path / "open.csv"
    path.write_text(
        'url,title\nhttps://e.com/a.mp3,"Open quote\nhttps://e.com/b.mp3,B\n', encoding="utf-8"
    )
    table = read_table(path)
    assert table.warnings == [
        'open.csv row 2: a cell runs over several lines holding links, as if a quote (") was '
        "left open in it and the rows below were read into it: check that row"
    ]
    ok = tmp_path / "ok.csv"
    ok.write_text('url,title\nhttps://e.com/a.mp3,"Two\nlines, fine"\n', encoding="utf-8")
    assert read_table(ok).warnings == []
