"""write_item_outputs: every chosen format lands as <stem>.<ext>, atomically, in order."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import Transcript
from bulk_transcribe.outputs import output_stem, write_item_outputs
from bulk_transcribe.outputs import writer as writer_module

Make = Callable[..., Transcript]
FRONTMATTER = {"title": "A talk: about rivers", "session_id": "s1"}


def test_writes_each_format_in_the_order_asked(tmp_path: Path, make_transcript: Make) -> None:
    folder = tmp_path / "sessions" / "s1"  # does not exist yet
    formats = ["txt", "md", "vtt", "json", "srt"]
    paths = write_item_outputs(folder, "talk__abc", formats, FRONTMATTER, make_transcript())
    assert paths == [folder / f"talk__abc.{ext}" for ext in formats]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)
    markdown = (folder / "talk__abc.md").read_text(encoding="utf-8")
    assert yaml.safe_load(markdown.split("---\n")[1]) == FRONTMATTER
    assert json.loads((folder / "talk__abc.json").read_text())["metadata"] == FRONTMATTER
    assert (folder / "talk__abc.vtt").read_text().startswith("WEBVTT\n")
    assert (folder / "talk__abc.srt").read_text().startswith("1\n00:00:00,000 --> ")


def test_only_chosen_formats_are_written(tmp_path: Path, make_transcript: Make) -> None:
    paths = write_item_outputs(tmp_path, "x__1", ["SRT", ".md", "srt"], {}, make_transcript())
    assert [p.name for p in paths] == ["x__1.srt", "x__1.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x__1.md", "x__1.srt"]


def test_unknown_format_is_refused_before_anything_is_written(
    tmp_path: Path, make_transcript: Make
) -> None:
    with pytest.raises(PermanentError) as raised:
        write_item_outputs(tmp_path, "x__1", ["md", "docx"], {}, make_transcript())
    assert raised.value.kind is ErrorKind.INVALID_INPUT
    assert "docx" in raised.value.message
    assert list(tmp_path.iterdir()) == []


def test_render_failure_keeps_old_files_and_leaves_no_temp(
    tmp_path: Path, make_transcript: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "x__1.md").write_text("old note")

    def broken(frontmatter: dict, transcript: Transcript) -> str:
        raise RuntimeError("renderer bug")

    monkeypatch.setitem(writer_module.RENDERERS, "srt", broken)
    with pytest.raises(RuntimeError):
        write_item_outputs(tmp_path, "x__1", ["md", "srt"], {}, make_transcript())
    assert [p.name for p in tmp_path.iterdir()] == ["x__1.md"]
    assert (tmp_path / "x__1.md").read_text() == "old note"


def test_hostile_stem_cannot_escape_the_folder(tmp_path: Path, make_transcript: Make) -> None:
    folder = tmp_path / "session"
    paths = write_item_outputs(folder, "../../evil", ["txt"], {}, make_transcript())
    [path] = paths
    assert path.resolve().parent == folder.resolve()
    assert list(tmp_path.iterdir()) == [folder]


def test_works_with_stems_from_nasty_titles(tmp_path: Path, make_transcript: Make) -> None:
    stem = output_stem("../../CON: 日本語 " * 30, "../key")
    formats = ["md", "srt", "vtt", "json", "txt"]
    paths = write_item_outputs(tmp_path, stem, formats, {}, make_transcript())
    assert all(p.parent == tmp_path and p.exists() for p in paths)
