"""The CLI under hostile input, run as a user runs it: a real subprocess, real servers, real files.

Each case ends in a clear message and the right exit code, never a traceback; no secret and
no terminal escape reaches a file, the database or the terminal.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.cli.test_cli import CLI, run_cli, session_folder
from tests.cli.test_lifecycle import SCRIPTED_CLI, env
from tests.samples import REPO, SAMPLE_MEDIA, reference_text, word_error_rate
from tests.sources.media_server import MediaServer, Route, running_server

SECRETS = ("hunter2", "SECRET2", "SECRET3", "APISECRET")


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    with running_server() as server:
        yield server


def everything_written(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())


def test_credentials_in_links_and_api_base_reach_no_file_database_or_terminal(
    tmp_path: Path, media_server: MediaServer
) -> None:
    audio = SAMPLE_MEDIA[0]
    media_server.add("/show/ep1" + audio.suffix, Route(audio.read_bytes(), "audio/mpeg"))
    media_server.add("/show/gone.mp3", Route(b"", status=404))
    base = media_server.base.replace("http://", "http://alice:hunter2@")
    listing = tmp_path / "links.txt"
    listing.write_text(
        f"{base}/show/ep1{audio.suffix}?token=SECRET2\n"
        f"{media_server.base}/show/gone.mp3?api_key=SECRET3&page=2\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = run_cli(
        "run", str(listing), "--out", str(out), "--api-base", "http://bob:APISECRET@127.0.0.1:9/v1"
    )

    assert result.returncode == 1, result.stderr  # one done, one failed
    assert "Traceback" not in result.stderr
    written = everything_written(out)
    assert b"bulk_transcribe.db" not in written  # sanity: contents, not names
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr, secret
        assert secret.encode() not in written, secret
    with sqlite3.connect(out / "bulk_transcribe.db") as db:
        dump = "\n".join(db.iterdump())
    assert not any(secret in dump for secret in SECRETS)
    # The links are kept, scrubbed, so the user can still tell them apart.
    assert "alice:***@127.0.0.1" in dump and "token=***" in dump and "page=2" in dump
    # The request itself carried the real credentials.
    seen = media_server.requests_to(f"/show/ep1{audio.suffix}")
    assert seen and seen[0].headers["Authorization"].startswith("Basic ")
    assert "gone.mp3?api_key=***&page=2 answered HTTP 404" in result.stdout


def test_terminal_escapes_in_titles_reach_no_terminal_note_or_sheet(tmp_path: Path) -> None:
    sheet = tmp_path / "list.csv"
    evil = "Evil\x1b]0;pwned\x07\x1b[31mRed\x00 [/] [bold]title\u202e"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["url", "title"], [str(SAMPLE_MEDIA[0]), evil]])
    out = tmp_path / "out"
    result = run_cli("run", str(sheet), "--out", str(out), "--format", "md,txt")

    assert result.returncode == 0, result.stderr
    for text in (result.stdout, result.stderr):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", text)
    folder = session_folder(out)
    (note,) = folder.glob("*.md")
    heading = next(line for line in note.read_text().splitlines() if line.startswith("# "))
    assert heading == "# Evil]0;pwned[31mRed [/] [bold]title"
    for path in (note, folder / "items.csv", folder / "manifest.json"):
        assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xe2\x80\xae", path.read_bytes())


def test_a_console_that_cannot_print_arrows_degrades_instead_of_crashing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [*CLI, "run", str(SAMPLE_MEDIA[0]), "--out", str(out)],
        capture_output=True,
        timeout=600,
        env={**os.environ, "PYTHONIOENCODING": "cp1252", "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr.decode("cp1252")
    assert b"UnicodeEncodeError" not in result.stderr
    assert b"Session " in result.stdout and b" ? " in result.stdout  # "→" printed as "?"
    assert len(list((session_folder(out)).glob("*.md"))) == 1


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_gets_advice_not_a_traceback(tmp_path: Path, damage: str) -> None:
    out = tmp_path / "out"
    db = out / "bulk_transcribe.db"
    if damage == "garbage":
        out.mkdir()
        db.write_bytes(b"this is not a database at all\n" * 200)
    else:
        with Store(db) as store:
            session = store.create_session(out, Settings(out_dir=out).public_dict())
            specs = [ItemSpec(f"https://e.com/{n}.mp3", SourceType.HTTP_MEDIA) for n in range(400)]
            store.add_items(session.id, specs)
            for n in range(400):
                store.add_event(session.id, "note", f"event {n} " + "x" * 200)
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    for args in (["sessions"], ["status"], ["run", str(SAMPLE_MEDIA[0])]):
        result = run_cli(*args, "--out", str(out))
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "damaged or not a Bulk Transcribe database" in result.stderr, result.stderr
        assert "move it aside" in result.stderr


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "read_only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    # Root ignores permission bits: a read-only filesystem refuses even root.
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_read_only_output_folder_is_a_usage_error(read_only_folder: Path) -> None:
    result = run_cli("run", str(SAMPLE_MEDIA[0]), "--out", str(read_only_folder / "out"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "choose a folder you can write to with --out" in result.stderr


def test_a_full_disk_before_the_run_is_a_clear_error(small_disk: Path) -> None:
    filler = small_disk / "filler"
    with filler.open("wb") as handle, pytest.raises(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    result = run_cli("run", str(SAMPLE_MEDIA[0]), "--out", str(small_disk / "out"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "disk full while" in result.stderr and "free some space" in result.stderr


def test_progress_lines_count_each_item_once_and_a_long_failure_list_is_cut(
    tmp_path: Path, corrupt_mp3: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for sample in SAMPLE_MEDIA:
        shutil.copy(sample, folder / sample.name)
    for n in range(40):
        shutil.copy(corrupt_mp3, folder / f"broken_{n:02d}.mp3")
    total = len(SAMPLE_MEDIA) + 40
    result = run_cli("run", str(folder), "--out", str(tmp_path / "out"), "-j", "3")

    assert result.returncode == 1, result.stderr
    counters = re.findall(rf"^\[(\d+)/{total}\]", result.stdout, flags=re.MULTILINE)
    assert sorted(int(n) for n in counters) == list(range(1, total + 1))
    assert len(re.findall(r"│ broken_\d\d", result.stdout)) == 20
    assert "… and 20 more items not done: see items.csv" in result.stdout
    transcribed = re.search(r"([\d.]+) audio minutes transcribed", result.stdout)
    assert transcribed is not None


def test_audio_minutes_transcribed_count_only_done_items(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        session = store.create_session(tmp_path, {})
        specs = [ItemSpec(f"/m/{n}.wav", SourceType.LOCAL_FILE) for n in range(3)]
        store.add_items(session.id, specs, durations={s.source: 60.0 for s in specs})
        done, failed, skipped = store.items(session.id)
        store.finish_item(done.id, ItemStatus.DONE)
        store.finish_item(failed.id, ItemStatus.FAILED, error_kind="decode", error_message="x")
        store.finish_item(skipped.id, ItemStatus.SKIPPED)
        counts = store.counts(session.id)
    assert counts.audio_seconds_transcribed == 60.0
    assert counts.audio_seconds_done == 180.0  # progress still counts everything finished


def test_the_cache_command_shows_and_clears_the_download_cache(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "cache" / "http").mkdir(parents=True)
    (out / "cache" / "youtube").mkdir()
    (out / "cache" / "http" / "a1.mp3").write_bytes(b"\1" * 3 * 1024**2)
    (out / "cache" / "youtube" / "vid.webm").write_bytes(b"\1" * 1024**2)

    shown = run_cli("cache", "--out", str(out))
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"http\s*│\s*1\s*│\s*3\.0 MB", shown.stdout)
    assert re.search(r"total\s*│\s*2\s*│\s*4\.0 MB", shown.stdout)

    cleared = run_cli("cache", "clear", "--out", str(out))
    assert cleared.returncode == 0, cleared.stderr
    assert "Removed 2 cached files, 4.0 MB freed." in cleared.stdout
    assert [p for p in (out / "cache").rglob("*") if p.is_file()] == []


def test_a_detached_job_gets_link_credentials_through_a_pipe_and_a_later_resume_asks_again(
    tmp_path: Path, media_server: MediaServer
) -> None:
    from bulk_transcribe import service
    from bulk_transcribe.runner import create_session, session_links

    audio = SAMPLE_MEDIA[0]
    media_server.add("/private" + audio.suffix, Route(audio.read_bytes(), "audio/wav"))
    real = media_server.url("/private" + audio.suffix).replace("http://", "http://alice:hunter2@")
    out = tmp_path / "out"
    settings = Settings(out_dir=out, formats=("txt",))
    with Store(settings.database) as store:
        spec = ItemSpec(real, SourceType.HTTP_MEDIA)
        handed = create_session(store, settings, [spec])
        links = session_links(store, [spec])
        forgotten = create_session(store, settings.model_copy(update={"force": True}), [spec])
    service.launch_detached(settings.database, handed.id, links=links)
    with Store(settings.database) as store:
        deadline = 600
        while store.get_session(handed.id).status.value not in ("completed", "stopped"):
            deadline -= 1
            assert deadline > 0, "the detached job never finished"
            time.sleep(1)
        [item] = store.items(handed.id)
    assert item.status is ItemStatus.DONE, item.error_message
    assert media_server.requests_to("/private" + audio.suffix)[0].headers["Authorization"]

    # A plain resume in a new process never had the credentials: it says so.
    result = run_cli("resume", forgotten.id, "--out", str(out))
    assert result.returncode == 1, result.stderr
    assert "carried credentials, which are never saved" in result.stdout
    assert b"hunter2" not in everything_written(out)
    assert "hunter2" not in result.stdout + result.stderr


def fill(disk: Path, leave: int) -> Path:
    """Fill `disk` until only about `leave` bytes are free; returns the filler file."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


def test_a_disk_that_fills_mid_run_stops_it_and_a_plain_resume_finishes_it(
    small_disk: Path, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for copy in range(2):
        for sample in SAMPLE_MEDIA:
            shutil.copy(sample, media / f"{copy}_{sample.name}")
    out, db = small_disk / "out", tmp_path / "bulk_transcribe.db"
    out.mkdir()
    filler = fill(small_disk, leave=24 * 1024)  # room for the first notes, not for all
    first = run_cli("run", str(media), "--out", str(out), "--db", str(db))

    assert "Traceback" not in first.stderr, first.stderr
    assert "disk full" in first.stdout + first.stderr, first.stdout
    with Store(db) as store:
        [session] = store.list_sessions()
        items = store.items(session.id)
        assert session.status.value == "stopped"
        assert any(item.error_kind == "disk_full" for item in items)
        assert not any(item.status is ItemStatus.FAILED and item.error_kind != "disk_full"
                       for item in items)  # fmt: skip

    filler.unlink()  # the user frees some space
    second = run_cli("resume", session.id, "--out", str(out), "--db", str(db))
    assert second.returncode == 0, second.stdout + second.stderr
    with Store(db) as store:
        assert {item.status for item in store.items(session.id)} == {ItemStatus.DONE}
    folder = out / "sessions" / session.id
    assert len(list(folder.glob("*.md"))) == 2 * len(SAMPLE_MEDIA)
    assert (folder / "manifest.json").is_file()


def test_links_that_differ_only_in_a_secret_parameter_are_two_items_each_fetched_from_its_own(
    tmp_path: Path, media_server: MediaServer
) -> None:
    # Two talks behind one address, told apart only by `session`, a name that looks secret.
    first, second = SAMPLE_MEDIA[1], SAMPLE_MEDIA[2]
    media_server.add("/river.opus?session=101", Route(first.read_bytes(), "audio/mpeg"))
    media_server.add("/river.opus?session=102", Route(second.read_bytes(), "audio/mp4"))
    sheet = tmp_path / "talks.csv"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["url", "title"],
                [media_server.url("/river.opus?session=101"), "Talk 101"],
                [media_server.url("/river.opus?session=102"), "Talk 102"],
            ]
        )
    out = tmp_path / "out"
    result = run_cli("run", str(sheet), "--out", str(out), "--format", "md,txt")

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(out / "bulk_transcribe.db") as db:
        stored = db.execute("SELECT source, key, title, status FROM items").fetchall()
    assert len(stored) == 2, stored
    assert {row[0] for row in stored} == {media_server.url("/river.opus?session=***")}
    assert len({row[1] for row in stored}) == 2  # two keys, neither giving the value away
    assert {row[2] for row in stored} == {"Talk 101", "Talk 102"}
    assert {row[3] for row in stored} == {"done"}
    assert len(media_server.requests_with("/river.opus", "session=101")) == 1
    assert len(media_server.requests_with("/river.opus", "session=102")) == 1
    folder = session_folder(out)
    notes = {p.stem.split("__")[0]: p for p in folder.glob("*.txt")}
    assert set(notes) == {"talk-101", "talk-102"}, list(notes)
    for title, media in (("talk-101", first), ("talk-102", second)):
        heard = notes[title].read_text(encoding="utf-8")
        assert word_error_rate(reference_text(media), heard) < 0.25, (title, heard)


def test_two_sessions_in_one_folder_fetching_one_link_at_once_both_get_the_whole_talk(
    tmp_path: Path, media_server: MediaServer
) -> None:
    # A slow server, so both processes are downloading the same link at the same time.
    talk = SAMPLE_MEDIA[1]
    body = talk.read_bytes()
    url = media_server.add("/talk.mp3", Route(body, "audio/mpeg", trickle_seconds=0.00005))
    out = tmp_path / "out"
    runs = [
        subprocess.Popen(
            [*CLI, "run", url, "--out", str(out), "--format", "txt", "--force"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        for _ in range(2)
    ]
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]

    for code, _stdout, stderr in results:
        assert code == 0, stderr
    transcripts = sorted((out / "sessions").glob("*/*.txt"))
    assert len(transcripts) == 2
    for transcript in transcripts:
        heard = transcript.read_text(encoding="utf-8")
        assert word_error_rate(reference_text(talk), heard) < 0.25, heard
    (cached,) = (out / "cache" / "http").iterdir()
    assert cached.read_bytes() == body
    # One download, shared: the second process found the first one's file.
    assert len(media_server.requests_to("/talk.mp3")) == 1


def test_a_server_that_cuts_its_file_short_gives_a_failed_item_and_resume_fetches_it_whole(
    tmp_path: Path, media_server: MediaServer
) -> None:
    """The server announces a fifth of its file's length: the download looks whole, the file
    holds 1.4 s of a 7 s recording. The item fails as a network error (retried in the run,
    each time downloaded again), nothing cut stays cached, and once the server sends the
    whole file a plain `resume` transcribes it (the scripted engine: the download is tested)."""
    body = (REPO / "tests" / "data" / "speech" / "librivox_dashwood_telephone.wav").read_bytes()
    url = media_server.add("/talk.wav", Route(body, "audio/wav", claimed_length=len(body) // 5))
    out = tmp_path / "out"

    cut = scripted_cli("run", url, "--engine", "scripted", "--out", str(out))

    assert cut.returncode == 1, cut.stdout + cut.stderr
    text = " ".join(cut.stdout.split())
    assert f"the server sent {len(body) // 5:,} bytes of a file that says it lasts 7.2 s" in text
    assert "The failed item failed for reasons that may pass" in text  # a plain resume
    assert len(media_server.requests_to("/talk.wav")) == 3  # two retries, each a download
    assert not list((out / "cache").rglob("*.wav"))
    with sqlite3.connect(out / "bulk_transcribe.db") as db:
        assert db.execute("SELECT status, error_kind FROM items").fetchall() == [
            ("failed", "network")
        ]

    media_server.add("/talk.wav", Route(body, "audio/wav"))  # the server is fixed
    session_id = next((out / "sessions").iterdir()).name
    resumed = scripted_cli("resume", session_id, "--out", str(out))

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "1 done, 0 failed" in resumed.stdout


def scripted_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SCRIPTED_CLI, *args], cwd=REPO, env=env(), capture_output=True, text=True, timeout=300
    )
