"""Never twice: what an earlier session transcribed is skipped and linked, unless forced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.runner import create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.samples import EXAMPLES
from tests.sources.feeds import FeedEpisode, day, rss_feed
from tests.sources.media_server import Route, running_server

EPISODE = ItemSpec("https://cdn.example/ep1.mp3", SourceType.HTTP_MEDIA, title="Episode 1")
VIDEO = ItemSpec("https://www.youtube.com/watch?v=dQw4w9WgXcQ", SourceType.YOUTUBE)


def finish(store: Store, session_id: str, status: ItemStatus, outputs: list[str]) -> None:
    for item in store.items(session_id, [ItemStatus.QUEUED]):
        store.start_item(item.id)
        store.finish_item(item.id, status, outputs=outputs, method="local_whisper")


def test_a_source_done_in_an_earlier_session_is_skipped_and_linked(tmp_path: Path) -> None:
    settings = Settings(out_dir=tmp_path)
    with Store(tmp_path / "db.sqlite") as store:
        first = create_session(store, settings, [EPISODE])
        finish(store, first.id, ItemStatus.DONE, ["episode-1.md", "episode-1.srt"])
        second = create_session(store, settings, [EPISODE, VIDEO])
        skipped, queued = store.items(second.id)
        assert (skipped.status, queued.status) == (ItemStatus.SKIPPED, ItemStatus.QUEUED)
        assert skipped.metadata["archived_session_id"] == first.id
        assert skipped.metadata["archived_outputs"] == [
            str(first.folder / "episode-1.md"),
            str(first.folder / "episode-1.srt"),
        ]
        assert first.id in skipped.error_message and "--force" in skipped.error_message
        counts = store.counts(second.id)
        assert (counts.skipped, counts.queued) == (1, 1)
        assert any(e.kind == "archive" for e in store.events(second.id))


def test_force_transcribes_again(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        first = create_session(store, Settings(out_dir=tmp_path), [EPISODE])
        finish(store, first.id, ItemStatus.DONE, ["episode-1.md"])
        forced = create_session(store, Settings(out_dir=tmp_path, force=True), [EPISODE])
        assert [i.status for i in store.items(forced.id)] == [ItemStatus.QUEUED]


def test_only_successes_count_and_the_latest_one_is_linked(tmp_path: Path) -> None:
    settings = Settings(out_dir=tmp_path)
    with Store(tmp_path / "db.sqlite") as store:
        failed = create_session(store, settings, [VIDEO])
        finish(store, failed.id, ItemStatus.FAILED, [])
        retried = create_session(store, settings, [VIDEO])
        assert [i.status for i in store.items(retried.id)] == [ItemStatus.QUEUED]
        finish(store, retried.id, ItemStatus.DONE, ["old.md"])
        redone = create_session(store, Settings(out_dir=tmp_path, force=True), [VIDEO])
        finish(store, redone.id, ItemStatus.DONE, ["new.md"])
        latest = create_session(store, settings, [VIDEO])
        (item,) = store.items(latest.id)
        assert item.metadata["archived_session_id"] == redone.id
        assert item.metadata["archived_outputs"] == [str(redone.folder / "new.md")]


def test_many_sources_are_looked_up_in_chunks(tmp_path: Path) -> None:
    specs = [ItemSpec(f"https://cdn.example/{n}.mp3", SourceType.HTTP_MEDIA) for n in range(1200)]
    with Store(tmp_path / "db.sqlite") as store:
        first = create_session(store, Settings(out_dir=tmp_path), specs)
        finish(store, first.id, ItemStatus.DONE, ["x.md"])
        second = create_session(store, Settings(out_dir=tmp_path), specs)
        assert store.counts(second.id).skipped == 1200


# --- end to end: the CLI on a podcast feed served from 127.0.0.1 ---------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bulk_transcribe.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def markdown_files(out: Path) -> list[Path]:
    return sorted(out.glob("sessions/*/*.md"))


@pytest.mark.slow
def test_a_feed_run_then_a_rerun_skips_and_force_redoes(tmp_path: Path) -> None:
    media = EXAMPLES / "media"
    with running_server() as server:
        files = ["02_library_visit.mp3", "04_weather_report.ogg", "03_coffee_recipe.m4a"]
        for name in files:
            server.add(f"/audio/{name}", Route((media / name).read_bytes(), "audio/mpeg"))
        episodes = [
            FeedEpisode(f"Episode {n}", day(2024, n, 1), server.url(f"/audio/{name}"))
            for n, name in enumerate(files, start=1)
        ]
        feed = server.add(
            "/feed.rss", Route(rss_feed("Sample Show", episodes), "application/rss+xml")
        )
        out = tmp_path / "out"

        first = cli("run", feed, "--latest", "2", "--out", str(out), "-f", "md", cwd=tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Sample Show" in first.stdout  # the expansion is shown before the run
        written = markdown_files(out)
        assert len(written) == 2
        frontmatter = yaml.safe_load(written[0].read_text().split("---")[1])
        assert frontmatter["podcast"] == "Sample Show"
        assert frontmatter["title"] in ("Episode 2", "Episode 3")
        downloads = len(server.requests_to("/audio/" + files[2]))
        assert server.requests_to("/audio/" + files[0]) == []  # not among the latest 2

        again = cli("run", feed, "--latest", "2", "--out", str(out), "-f", "md", cwd=tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "2 items already transcribed" in again.stdout
        assert "0 done, 0 failed, 2 skipped" in again.stdout
        assert len(markdown_files(out)) == 2
        assert len(server.requests_to("/audio/" + files[2])) == downloads

        forced = cli(
            "run", feed, "--latest", "2", "--out", str(out), "-f", "md", "--force", cwd=tmp_path
        )
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert "2 done, 0 failed, 0 skipped" in forced.stdout
        assert len(markdown_files(out)) == 4


def test_a_different_file_at_the_same_path_is_new_work(tmp_path: Path) -> None:
    """Local files are known by size, modification time and content, not by path alone."""
    media = tmp_path / "talk.wav"
    samples = sorted((EXAMPLES / "media").iterdir())
    media.write_bytes(samples[0].read_bytes())
    spec = ItemSpec(str(media), SourceType.LOCAL_FILE)
    settings = Settings(out_dir=tmp_path)
    with Store(tmp_path / "db.sqlite") as store:
        first = create_session(store, settings, [spec])
        finish(store, first.id, ItemStatus.DONE, ["talk.md"])
        same = create_session(store, settings, [spec])
        assert [i.status for i in store.items(same.id)] == [ItemStatus.SKIPPED]

        stat = media.stat()
        replacement = bytearray(media.read_bytes())
        replacement[-1] ^= 0xFF  # same size, same timestamp, different content
        media.write_bytes(bytes(replacement))
        os.utime(media, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        changed = create_session(store, settings, [spec])
        assert [i.status for i in store.items(changed.id)] == [ItemStatus.QUEUED]
