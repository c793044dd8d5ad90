"""The Input panel reads pasted text and uploads the way the CLI reads files."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.models import SourceType
from bulk_transcribe.web.panels.input_panel import (
    Upload,
    collections,
    guess_columns,
    ingest,
    preview_sheet,
)

SHEET = b"Title,Media link\nOne,https://example.org/1.mp3\nTwo,https://example.org/2.mp3\n"


def test_pasted_lines_are_read_as_a_list_named_pasted_txt() -> None:
    result = ingest("https://example.org/a.mp3\n\nnot a thing\n", None)
    assert [s.source for s in result.items] == ["https://example.org/a.mp3"]
    assert [(e.origin, e.reason) for e in result.invalid] == [
        ("pasted.txt line 3", "not a URL or an existing file")
    ]


def test_an_uploaded_sheet_is_previewed_and_read_with_the_chosen_link_column() -> None:
    upload = Upload("episodes.csv", SHEET)
    preview = preview_sheet(upload)
    assert preview.headers == ["Title", "Media link"]
    assert preview.row_count == 2

    result = ingest("", upload, (("url", "Media link"),))
    assert [s.title for s in result.items] == ["One", "Two"]


def test_a_sheet_with_a_banner_row_is_previewed_from_its_real_header() -> None:
    upload = Upload(
        "q3.csv",
        b"Episodes for the Q3 review,,\nTitle,Date,Audio URL\nOne,2024,https://e.org/1.mp3\n",
    )
    preview = preview_sheet(upload)
    assert preview.headers == ["Title", "Date", "Audio URL"]
    assert preview.rows == [["One", "2024", "https://e.org/1.mp3"]]
    assert guess_columns(preview) == {"url": "Audio URL", "title": "Title"}
    assert [(s.title, s.origin) for s in ingest("", upload).items] == [("One", "q3.csv row 3")]


def test_an_upload_cannot_choose_where_it_is_written() -> None:
    result = ingest("", Upload("../../links.txt", b"https://example.org/a.mp3\n"))
    assert [s.origin for s in result.items] == ["links.txt line 1"]


def test_an_unreadable_upload_raises_a_readable_error() -> None:
    with pytest.raises(PermanentError, match="could not be read as an Excel workbook"):
        ingest("", Upload("book.xlsx", b"not a workbook"))


def test_playlists_channels_and_feeds_are_flagged_for_expansion() -> None:
    result = ingest(
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ\n"
        "https://www.youtube.com/playlist?list=PL0123456789\n"
        "https://www.youtube.com/@somechannel\n"
        "https://example.org/podcast/feed.xml\n",
        None,
    )
    flagged = collections(result.items)
    assert len(flagged) == 3
    assert SourceType.PODCAST_FEED in {s.source_type for s in flagged}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("links.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8),
        ("links.txt", b"ID3\x04\x00\x00\x00\x00\x00#TSSE" + bytes(range(256)) * 8),
        ("links.xlsx", b"%PDF-1.7 not a workbook"),
    ],
)
def test_binary_files_are_not_taken_for_lists_or_sheets(name: str, data: bytes) -> None:
    assert not Upload(name, data).readable


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("links.csv", SHEET),
        ("links.txt", "https://example.org/ü.mp3\n".encode()),
        ("links.txt", "https://example.org/a.mp3\n".encode("utf-16")),
    ],
)
def test_text_in_any_encoding_is_readable(name: str, data: bytes) -> None:
    assert Upload(name, data).readable


@pytest.mark.parametrize("title", ["Titel", "Episode name", "Título", "titre"])
def test_the_automatic_columns_are_named_including_titles_in_other_languages(
    title: str,
) -> None:
    upload = Upload("episodes.csv", f"{title},URL\nOne,https://example.org/1.mp3\n".encode())
    assert guess_columns(preview_sheet(upload)) == {"url": "URL", "title": title}
    assert [s.title for s in ingest("", upload).items] == ["One"]


def test_a_shared_app_gives_any_pasted_path_one_answer_whatever_is_on_its_disk(
    tmp_path, sample_media
) -> None:
    """A found `meeting.m4a` must not become an item (its transcript downloadable by anyone),
    and "no such file" must not read differently from "not media": that tells what exists."""
    from bulk_transcribe.ingest.classify import NO_SERVER_FILES

    meeting = tmp_path / "meeting.m4a"
    meeting.write_bytes(sample_media[0].read_bytes())
    (tmp_path / "notes.txt").write_text("private")
    (tmp_path / "folder").mkdir()
    paths = [
        str(meeting),
        str(tmp_path / "notes.txt"),
        str(tmp_path / "folder"),
        str(tmp_path / "missing.m4a"),
        "/etc/passwd",
        "~/.ssh/id_rsa",
        "meeting.m4a",
        f"file://{meeting}",  # the forms a file manager copies are paths too
        f"file://localhost{meeting}",
    ]
    pasted = "\n".join([*paths, "https://example.org/a.mp3"]) + "\n"
    sheet = Upload("list.csv", ("link\n" + "\n".join(paths) + "\n").encode())

    for result in (ingest(pasted, None, server_files=False), ingest("", sheet, server_files=False)):
        assert all(spec.source_type is not SourceType.LOCAL_FILE for spec in result.items)
        # A file:// link is named by the path it stands for.
        assert [e.value for e in result.invalid] == [*paths[:-2], str(meeting), str(meeting)]
        assert {e.reason for e in result.invalid} == {NO_SERVER_FILES}

    on_this_computer = ingest(str(meeting) + "\n", None)  # nothing changes on 127.0.0.1
    assert [s.source_type for s in on_this_computer.items] == [SourceType.LOCAL_FILE]


def test_cells_pasted_from_a_spreadsheet_keep_their_columns() -> None:
    pasted = "Title\tAudio URL\tHost\nOne\thttps://e.org/1.mp3\tAda\nTwo\thttps://e.org/2.mp3\tBo\n"
    result = ingest(pasted, None)
    assert [(s.source, s.title, s.metadata) for s in result.items] == [
        ("https://e.org/1.mp3", "One", {"host": "Ada"}),
        ("https://e.org/2.mp3", "Two", {"host": "Bo"}),
    ]
    assert result.invalid == []


def linked_titles_workbook() -> bytes:
    """A sheet exported from a web page: no link column, each title linked to its media."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Episode", "Aired"])
    for n in (1, 2):
        sheet.append([f"Episode {n}", f"2024-0{n}-01"])
        sheet.cell(row=n + 1, column=1).hyperlink = f"https://example.org/{n}.mp3"
    sheet.append(['=HYPERLINK("https://example.org/3.mp3", "Episode 3")', "2024-03-01"])
    buffer = io.BytesIO()
    workbook.save(buffer)  # a script's workbook: the formula has no computed value kept
    return buffer.getvalue()


@pytest.mark.parametrize(
    "upload",
    [
        Upload("exported.xlsx", linked_titles_workbook()),
        Upload(
            "exported.csv",
            b'Episode,Aired\n"=HYPERLINK(""https://example.org/1.mp3"",""Episode 1"")",2024-01-01\n'
            b'"=HYPERLINK(""https://example.org/2.mp3"";""Episode 2"")",2024-02-01\n',
        ),
    ],
    ids=["linked-cells-xlsx", "hyperlink-formulas-csv"],
)
def test_a_sheet_whose_titles_link_to_the_media_previews_the_titles_the_run_uses(
    upload: Upload,
) -> None:
    preview = preview_sheet(upload)
    result = ingest("", upload)

    assert guess_columns(preview) == {"url": "the links in Episode", "title": "Episode"}
    titles = [s.title for s in result.items]
    assert titles[:2] == ["Episode 1", "Episode 2"]
    assert [row[0] for row in preview.rows] == titles  # the titles shown are the ones used
    assert [s.source for s in result.items][:2] == [
        "https://example.org/1.mp3",
        "https://example.org/2.mp3",
    ]
