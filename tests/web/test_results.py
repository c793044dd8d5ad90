"""Results: a session's files as one zip, and which file to preview."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from bulk_transcribe.web.panels.results import preview_text, session_zip


def test_the_session_zip_holds_every_file_with_folder_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "transcripts").mkdir()
    (tmp_path / "transcripts" / "talk.txt").write_text("hello")
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "half.txt.part").write_text("partial download")

    archive = zipfile.ZipFile(io.BytesIO(session_zip(tmp_path)))

    assert sorted(archive.namelist()) == ["manifest.json", "transcripts/talk.txt"]
    assert archive.read("transcripts/talk.txt") == b"hello"


def test_the_preview_prefers_plain_text(tmp_path: Path) -> None:
    md, txt = tmp_path / "a.md", tmp_path / "a.txt"
    md.write_text("---\ntitle: a\n---\nhello")
    txt.write_text("hello")
    assert preview_text([md, txt]) == "hello"
    assert preview_text([md]) is not None
    assert preview_text([]) is None
