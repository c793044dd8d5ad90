"""File names: readable slugs, and names that can never leave their folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.outputs import output_stem, safe_filename, slugify
from bulk_transcribe.outputs.naming import MAX_FILENAME_BYTES

HOSTILE_NAMES = [
    "../../etc/passwd",
    "..",
    ".",
    "...",
    "a/b\\c",
    "/absolute/path.txt",
    "C:\\Windows\\system32",
    "CON",
    "con.txt",
    "NUL",
    "nul.tar.gz",
    "Com1",
    "lpt9.md",
    "AUX ",
    ".hidden",
    "..\\..\\boot.ini",
    "tab\there\nnew\x00line\x1f",
    "trailing dots...",
    "",
    "   ",
    "é" * 300,
    "日本語のタイトル" * 40 + ".md",
    "x" * 400 + ".srt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_safe_filename_guarantees(name: str, tmp_path: Path) -> None:
    safe = safe_filename(name)
    assert safe
    assert "/" not in safe and "\\" not in safe
    assert ".." not in safe
    assert not safe.startswith(".")
    assert all(ord(ch) >= 32 and ord(ch) != 127 for ch in safe)
    assert safe.split(".")[0].strip().upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT9"}
    assert len(safe.encode("utf-8")) <= MAX_FILENAME_BYTES
    # The real test: a file made with this name lands inside the folder.
    target = tmp_path / safe
    target.write_text("x")
    assert target.resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("NUL", "_NUL"),
        ("COM1.srt", "_COM1.srt"),
        ("console.txt", "console.txt"),
        ("COM10", "COM10"),
    ],
)
def test_windows_reserved_names_get_an_underscore(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_ordinary_names_pass_through_unchanged() -> None:
    assert safe_filename("a-talk-about-rivers__a1b2c3d4.md") == "a-talk-about-rivers__a1b2c3d4.md"
    assert safe_filename("Café résumé.txt") == "Café résumé.txt"


def test_truncation_keeps_extension_and_whole_characters() -> None:
    safe = safe_filename("é" * 300 + ".vtt")
    assert safe.endswith(".vtt")
    assert len(safe.encode("utf-8")) <= MAX_FILENAME_BYTES
    assert set(safe.removesuffix(".vtt")) == {"é"}


def test_traversal_is_neutralised_to_a_plain_name() -> None:
    assert safe_filename("../../etc/passwd") == "_._etc_passwd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A Talk About Rivers!", "a-talk-about-rivers"),
        ("Crème brûlée: über Strasse", "creme-brulee-uber-strasse"),
        ("  --Hello___World--  ", "hello-world"),
        # Titles in scripts ASCII has nothing for keep their words, not "untitled".
        ("日本語", "日本語"),
        ("Новости дня: выпуск 5", "новости-дня-выпуск-5"),
        ("हिन्दी समाचार", "हिन्दी-समाचार"),
        ("第12回 Podcast!", "第12回-podcast"),
        ("", "untitled"),
        ("Episode #12 — Q&A", "episode-12-q-a"),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_respects_max_length_without_trailing_dash() -> None:
    slug = slugify("word " * 50, max_length=12)
    assert len(slug) <= 12
    assert not slug.endswith("-")
    assert slug == "word-word-wo"


def test_output_stem_joins_slug_and_key() -> None:
    assert output_stem("A Talk About Rivers", "a1b2c3d4") == "a-talk-about-rivers__a1b2c3d4"
    assert output_stem(None, "a1b2c3d4") == "untitled__a1b2c3d4"
    assert output_stem("", "ff00") == "untitled__ff00"


@pytest.mark.parametrize("key", ["../../etc/passwd", "a/b\\c", "..", "\x00evil"])
def test_output_stem_treats_key_as_untrusted(key: str, tmp_path: Path) -> None:
    stem = output_stem("Title", key)
    assert "/" not in stem and "\\" not in stem and ".." not in stem
    assert all(ord(ch) >= 32 for ch in stem)
    target = tmp_path / f"{stem}.md"
    target.write_text("x")
    assert target.resolve().parent == tmp_path.resolve()


def test_output_stem_is_bounded_for_huge_titles() -> None:
    stem = output_stem("ünïcödé " * 300, "a1b2c3d4")
    assert stem.endswith("__a1b2c3d4")
    assert len(stem.encode("utf-8")) <= MAX_FILENAME_BYTES


def test_a_long_title_in_a_wide_script_keeps_the_key_and_fits() -> None:
    """Three bytes a character: the slug is cut by bytes, so the key after it stays whole
    (cut off, two long titles would share one file)."""
    stem = output_stem("東京の天気" * 60, "a1b2c3d4")
    assert stem.endswith("__a1b2c3d4") and stem.startswith("東京の天気")
    assert len(f"{stem}.json".encode()) <= MAX_FILENAME_BYTES
