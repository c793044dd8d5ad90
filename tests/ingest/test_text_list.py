from pathlib import Path

from bulk_transcribe.ingest.result import InvalidEntry
from bulk_transcribe.ingest.text_list import text_list_entries
from bulk_transcribe.models import ItemSpec, SourceType


def test_blank_lines_comments_and_whitespace_are_ignored_with_line_numbers_kept() -> None:
    lines = [
        "\ufeff# my links",
        "",
        "   https://example.com/a.mp3   ",
        "\t# indented comment",
        "dQw4w9WgXcQ",
    ]
    entries = text_list_entries(lines, "links.txt", [])
    assert [(e.source, e.origin) for e in entries if isinstance(e, ItemSpec)] == [
        ("https://example.com/a.mp3", "links.txt line 3"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "links.txt line 5"),
    ]


def test_bom_before_a_link_on_the_first_line_is_stripped() -> None:
    [entry] = text_list_entries(["\ufeffhttps://example.com/a.mp3"], "links.txt", [])
    assert isinstance(entry, ItemSpec)
    assert entry.source == "https://example.com/a.mp3"


def test_unclassifiable_lines_become_invalid_entries_naming_the_line() -> None:
    entries = text_list_entries(["https://example.com/a.mp3", "what is this"], "links.txt", [])
    assert entries[1] == InvalidEntry(
        "links.txt line 2", "what is this", "not a URL or an existing file"
    )


def test_relative_paths_resolve_against_the_list_folder_first(tmp_path: Path) -> None:
    list_dir, cwd = tmp_path / "lists", tmp_path / "cwd"
    list_dir.mkdir()
    cwd.mkdir()
    (list_dir / "a.mp3").write_bytes(b"x")
    (cwd / "a.mp3").write_bytes(b"x")
    (cwd / "b.mp3").write_bytes(b"x")
    entries = text_list_entries(["a.mp3", "b.mp3"], "list.txt", [list_dir, cwd])
    assert [e.source for e in entries if isinstance(e, ItemSpec)] == [
        str(list_dir / "a.mp3"),
        str(cwd / "b.mp3"),
    ]
    assert all(e.source_type is SourceType.LOCAL_FILE for e in entries if isinstance(e, ItemSpec))


def test_two_links_pasted_on_one_line_are_two_items_of_that_line() -> None:
    entries = text_list_entries(
        ["https://example.com/a.mp3  https://example.com/b.mp3"], "links.txt", []
    )
    assert [(e.source, e.origin) for e in entries if isinstance(e, ItemSpec)] == [
        ("https://example.com/a.mp3", "links.txt line 1"),
        ("https://example.com/b.mp3", "links.txt line 1"),
    ]


def test_a_note_after_a_link_is_a_comment_but_a_hash_in_a_file_name_is_not(
    tmp_path: Path,
) -> None:
    """ "https://…  # the good one" was refused as a URL containing spaces."""
    (tmp_path / "Episode #3.mp3").write_bytes(b"\x00" * 16)
    lines = ["https://example.com/a.mp3   # the good one", "Episode #3.mp3"]
    entries = text_list_entries(lines, "links.txt", [tmp_path])
    assert [e.source for e in entries if isinstance(e, ItemSpec)] == [
        "https://example.com/a.mp3",
        str(tmp_path / "Episode #3.mp3"),
    ]
    assert not [e for e in entries if isinstance(e, InvalidEntry)]


def test_a_line_starting_with_a_tilde_that_names_no_user_is_an_entry_not_a_crash() -> None:
    """ "~~~ Season 2 ~~~" in a list stopped the run with a traceback: pathlib raises when
    "~name" names no user of this machine."""
    entries = text_list_entries(["~~~ Season 2 ~~~", "~nosuchuser/talk.mp3"], "l.txt", [Path(".")])
    assert [(e.origin, e.reason) for e in entries if isinstance(e, InvalidEntry)] == [
        ("l.txt line 1", "not a URL or an existing file"),
        ("l.txt line 2", "file not found (looked in .)"),
    ]
