"""Media uploaded to a shared web app: kept under OUT/uploads, never where its name says."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.ingest.result import InvalidEntry
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.service.uploads import NOT_MEDIA, UploadedMedia, keep_upload


def test_an_upload_becomes_a_local_file_item_kept_once_by_its_content(
    tmp_path: Path, sample_media: list[Path]
) -> None:
    data = sample_media[0].read_bytes()

    first = keep_upload(tmp_path, UploadedMedia("Lab meeting.mp3", data))
    again = keep_upload(tmp_path, UploadedMedia("Lab meeting.mp3", data))

    assert isinstance(first, ItemSpec) and first.source_type is SourceType.LOCAL_FILE
    assert first.source == again.source
    kept = Path(first.source)
    assert kept.parent.parent == (tmp_path / "uploads").resolve()
    assert kept.name == "Lab meeting.mp3" and kept.read_bytes() == data
    assert first.title == "Lab meeting"
    assert [p.name for p in kept.parent.iterdir()] == ["Lab meeting.mp3"]  # no partial left


def test_an_uploaded_name_never_chooses_where_the_file_lands(tmp_path: Path) -> None:
    for hostile in ("../../../etc/cron.d/x.mp3", "..\\..\\x.wav", "/root/.ssh/y.m4a"):
        entry = keep_upload(tmp_path / "out", UploadedMedia(hostile, b"ID3 audio"))
        assert isinstance(entry, ItemSpec)
        assert Path(entry.source).is_relative_to((tmp_path / "out" / "uploads").resolve())


def test_an_upload_that_is_not_media_is_refused_and_not_kept(tmp_path: Path) -> None:
    entry = keep_upload(tmp_path, UploadedMedia("notes.txt", b"hello"))
    assert isinstance(entry, InvalidEntry) and entry.reason == NOT_MEDIA
    assert not (tmp_path / "uploads").exists()
