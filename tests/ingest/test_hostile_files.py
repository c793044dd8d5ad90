"""Lists in the encodings Windows tools write, and files that are not files (pipes, devices)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.ingest import load_inputs
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.runner import create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import FetchContext, source_for
from bulk_transcribe.store import Store
from tests.samples import SAMPLE_MEDIA

LINKS = ["https://example.com/one.mp3", "https://example.com/café-two.mp3"]
TEXT = "# my list\r\n" + "\r\n".join(LINKS) + "\r\n"


@pytest.mark.parametrize(
    ("encoded", "how"),
    [
        (b"\xff\xfe" + TEXT.encode("utf-16-le"), "Notepad 'Unicode' and PowerShell >"),
        (b"\xfe\xff" + TEXT.encode("utf-16-be"), "UTF-16 big-endian with its mark"),
        (TEXT.encode("utf-16-le"), "UTF-16 little-endian without a mark"),
        (TEXT.encode("utf-16-be"), "UTF-16 big-endian without a mark"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "UTF-8 with a mark"),
    ],
)
def test_utf16_and_marked_lists_read_every_link(tmp_path: Path, encoded: bytes, how: str) -> None:
    (tmp_path / "links.txt").write_bytes(encoded)
    result = load_inputs(["links.txt"], cwd=tmp_path)
    assert [spec.source for spec in result.items] == LINKS, how
    assert result.invalid == []


def test_utf16_on_standard_input_reads_every_link(tmp_path: Path) -> None:
    piped = io.TextIOWrapper(io.BytesIO(b"\xff\xfe" + TEXT.encode("utf-16-le")), "utf-8")
    result = load_inputs(["-"], stdin=piped, cwd=tmp_path)
    assert [spec.source for spec in result.items] == LINKS


def test_a_utf16_sheet_reads_its_columns(tmp_path: Path) -> None:
    sheet = "url,title\r\nhttps://example.com/a.mp3,Première\r\n"
    (tmp_path / "links.csv").write_bytes(b"\xff\xfe" + sheet.encode("utf-16-le"))
    result = load_inputs(["links.csv"], cwd=tmp_path)
    [item] = result.items
    assert (item.source, item.title) == ("https://example.com/a.mp3", "Première")


def test_legacy_lists_still_fall_back_to_cp1252(tmp_path: Path) -> None:
    (tmp_path / "links.txt").write_bytes("https://example.com/café.mp3\n".encode("cp1252"))
    result = load_inputs(["links.txt"], cwd=tmp_path)
    assert [spec.source for spec in result.items] == ["https://example.com/café.mp3"]
    assert result.warnings == ["links.txt is not UTF-8; read it as cp1252"]


@pytest.fixture
def folder_with_a_pipe_and_a_device(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "real.wav").write_bytes(SAMPLE_MEDIA[0].read_bytes())
    os.mkfifo(folder / "pipe.mp3")
    (folder / "device.wav").symlink_to("/dev/null")  # a character device, named like media
    return folder


@pytest.mark.timeout(60)
def test_a_pipe_and_a_device_in_a_folder_are_reported_not_opened(
    folder_with_a_pipe_and_a_device: Path, tmp_path: Path
) -> None:
    folder = folder_with_a_pipe_and_a_device
    result = load_inputs([str(folder)], cwd=tmp_path)
    assert [Path(spec.source).name for spec in result.items] == ["real.wav"]
    reasons = {Path(entry.value).name: entry.reason for entry in result.invalid}
    assert reasons == {
        "pipe.mp3": "is a named pipe (FIFO), not a media file",
        "device.wav": "is a device, not a media file",
    }
    # Creating the session probes and fingerprints the files: a pipe must not block it.
    with Store(tmp_path / "db.sqlite") as store:
        session = create_session(store, Settings(out_dir=tmp_path / "out"), result.items)
        [item] = store.items(session.id)
        assert item.duration and item.duration > 0


@pytest.mark.timeout(60)
def test_a_pipe_named_directly_or_in_a_list_says_what_it_is(
    folder_with_a_pipe_and_a_device: Path, tmp_path: Path
) -> None:
    pipe = folder_with_a_pipe_and_a_device / "pipe.mp3"
    with pytest.raises(PermanentError, match="named pipe"):
        load_inputs([str(pipe)], cwd=tmp_path)
    (tmp_path / "list.txt").write_text(f"{pipe}\n", encoding="utf-8")
    [invalid] = load_inputs(["list.txt"], cwd=tmp_path).invalid
    assert invalid.reason == "is a named pipe (FIFO), not a media file"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "what"), [("pipe.mp3", "named pipe"), ("device.wav", "device")])
def test_a_queued_pipe_or_device_fails_with_what_it_is(
    folder_with_a_pipe_and_a_device: Path, tmp_path: Path, name: str, what: str
) -> None:
    path = folder_with_a_pipe_and_a_device / name
    settings = Settings(out_dir=tmp_path)
    with Store(tmp_path / "db.sqlite") as store:
        session = create_session(store, settings, [ItemSpec(str(path), SourceType.LOCAL_FILE)])
        [item] = store.items(session.id)
    context = FetchContext(settings, tmp_path / "cache", lambda: None)
    with pytest.raises(PermanentError) as raised:
        source_for(SourceType.LOCAL_FILE).fetch(item, context)
    assert raised.value.kind is ErrorKind.UNSUPPORTED
    assert what in raised.value.message and "not found" not in raised.value.message
