"""The Input panel reads pasted text and uploads the way the CLI reads files."""

from __future__ import annotations

import pytest

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.models import SourceType
from bulk_transcribe.web.input_panel import Upload, collections, ingest, preview_sheet

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
