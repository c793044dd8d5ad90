from collections.abc import Callable
from pathlib import Path

from bulk_transcribe.ingest import MEDIA_EXTENSIONS
from bulk_transcribe.ingest.paths import find_media_files, is_media_path


def test_media_extensions_cover_common_audio_and_video() -> None:
    for ext in (".wav", ".mp3", ".m4a", ".opus", ".flac", ".mp4", ".mkv", ".mov", ".3gp", ".aif"):
        assert ext in MEDIA_EXTENSIONS
    assert ".pdf" not in MEDIA_EXTENSIONS


def test_media_is_recognised_by_extension_in_any_case() -> None:
    assert is_media_path(Path("Talk.MP3"))
    assert not is_media_path(Path("notes.txt"))


def test_folder_search_recurses_keeps_only_media_and_skips_hidden(
    tmp_path: Path, media_file: Callable[[str], Path]
) -> None:
    for name in (
        "b.mp3",
        "a.wav",
        "sub/c.m4a",
        "sub/deeper/d.mp4",
        "readme.txt",
        "cover.jpg",
        ".hidden.mp3",
        ".cache/e.mp3",
    ):
        media_file(name)
    found = find_media_files(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.wav",
        "b.mp3",
        "sub/c.m4a",
        "sub/deeper/d.mp4",
    ]
    assert all(p.is_absolute() for p in found)


def test_numbers_sort_naturally(tmp_path: Path, media_file: Callable[[str], Path]) -> None:
    for name in ("Episode 10.mp3", "Episode 2.mp3", "episode 1.mp3"):
        media_file(name)
    assert [p.name for p in find_media_files(tmp_path)] == [
        "episode 1.mp3",
        "Episode 2.mp3",
        "Episode 10.mp3",
    ]


def test_empty_folder_has_no_media(tmp_path: Path) -> None:
    assert find_media_files(tmp_path) == []


def test_a_broken_link_in_a_folder_is_listed_apart_not_queued(tmp_path: Path) -> None:
    (tmp_path / "real.wav").write_bytes(b"x")
    (tmp_path / "moved.mp3").symlink_to(tmp_path / "gone" / "talk.mp3")
    (tmp_path / "alias.wav").symlink_to(tmp_path / "real.wav")  # a link that works is media
    special: list[tuple[Path, str]] = []
    found = find_media_files(tmp_path, special)
    assert found == [(tmp_path / "real.wav").resolve(), (tmp_path / "real.wav").resolve()]
    assert special == [
        (
            tmp_path / "moved.mp3",
            f"a broken link (to {tmp_path / 'gone' / 'talk.mp3'}, which is not there)",
        )
    ]


def test_audiobooks_and_camcorder_recordings_in_a_folder_are_media(tmp_path: Path) -> None:
    """A folder of .m4b audiobooks, .mpg and .mts recordings was "no media files", and a
    .wmv or .flv given by name an "unsupported file type". TypeScript's .ts stays out."""
    for name in ("book.m4b", "talk.MPG", "camera/00001.MTS", "old.wmv", "clip.flv", "code.ts"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"\x00" * 16)
    found = {p.relative_to(tmp_path).as_posix() for p in find_media_files(tmp_path)}
    assert found == {"book.m4b", "talk.MPG", "camera/00001.MTS", "old.wmv", "clip.flv"}


def test_the_download_cache_of_an_output_folder_inside_is_not_taken_for_media(
    tmp_path: Path,
) -> None:
    """`run .` where an earlier run wrote output/ queued every cached download again, as
    new local files named by a hash."""
    (tmp_path / "talk.wav").write_bytes(b"\x00" * 16)
    out = tmp_path / "output"
    (out / "cache" / "http").mkdir(parents=True)
    (out / "cache" / "http" / "e9459b44cff73c02.mp3").write_bytes(b"\x00" * 16)
    (out / ".cache-locks").mkdir()
    (out / "bulk_transcribe.db").write_bytes(b"")
    (tmp_path / "shows" / "cache").mkdir(parents=True)  # a folder of the user's named so
    (tmp_path / "shows" / "cache" / "ep1.mp3").write_bytes(b"\x00" * 16)
    assert [p.relative_to(tmp_path).as_posix() for p in find_media_files(tmp_path)] == [
        "shows/cache/ep1.mp3",
        "talk.wav",
    ]
    # Asked for by name, the cache is read as any folder.
    assert len(find_media_files(out / "cache")) == 1
