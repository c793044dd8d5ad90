"""Never twice: what an earlier session transcribed is skipped and linked, unless forced."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.runner import Runner, create_session
from bulk_transcribe.runner.ownership import new_owner
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import RunningElsewhere, Store
from tests.runner.doubles import ScriptedEngine, make_session, run_in_thread, statuses, wait_for
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


def test_an_episode_whose_audio_link_changed_is_known_by_its_guid(tmp_path: Path) -> None:
    """A host's new analytics prefix or dated query changes an episode's audio link; the
    guid in its feed stays, so a rerun of the feed skips it and links the transcript."""

    def episode(link: str, guid: str, feed: str = "https://feeds.example/show.rss") -> ItemSpec:
        metadata = {"feed_url": feed, "guid": guid}
        return ItemSpec(link, SourceType.HTTP_MEDIA, title=guid, metadata=metadata)

    settings = Settings(out_dir=tmp_path)
    with Store(tmp_path / "db.sqlite") as store:
        first = create_session(store, settings, [episode("https://cdn.example/1.mp3?v=1", "e1")])
        finish(store, first.id, ItemStatus.DONE, ["e1.md"])
        rerun = [
            episode("https://track.example/cdn.example/1.mp3?v=2", "e1"),
            episode("https://cdn.example/2.mp3", "e2"),
            episode("https://cdn.example/9.mp3", "e1", feed="https://other.example/feed.rss"),
        ]
        second = create_session(store, settings, rerun)
        moved, new, other_feed = store.items(second.id)
        assert moved.status is ItemStatus.SKIPPED
        assert moved.metadata["archived_outputs"] == [str(first.folder / "e1.md")]
        assert (new.status, other_feed.status) == (ItemStatus.QUEUED, ItemStatus.QUEUED)
        forced = create_session(store, Settings(out_dir=tmp_path, force=True), rerun[:1])
        assert [i.status for i in store.items(forced.id)] == [ItemStatus.QUEUED]


def test_a_guid_every_episode_of_a_feed_shares_names_only_its_own_episode(
    tmp_path: Path,
) -> None:
    """Some feeds give all their episodes one guid: an episode is the one transcribed only
    if its date or title is the same too."""
    feed = "https://feeds.example/careless.rss"

    def episode(n: int, link_version: int = 1) -> ItemSpec:
        metadata = {"feed_url": feed, "guid": "same-for-all", "published": f"2024-05-0{n}"}
        link = f"https://cdn.example/v{link_version}/{n}.mp3"
        return ItemSpec(link, SourceType.HTTP_MEDIA, title=f"Episode {n}", metadata=metadata)

    settings = Settings(out_dir=tmp_path)
    with Store(tmp_path / "db.sqlite") as store:
        first = create_session(store, settings, [episode(1), episode(2)])
        finish(store, first.id, ItemStatus.DONE, ["x.md"])
        second = create_session(store, settings, [episode(1, 2), episode(2, 2), episode(3, 2)])
        found = [i.status for i in store.items(second.id)]
        assert found == [ItemStatus.SKIPPED, ItemStatus.SKIPPED, ItemStatus.QUEUED]


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


def test_a_file_moved_to_another_folder_or_drive_path_is_not_new_work(tmp_path: Path) -> None:
    """Recordings sorted into subfolders, or an external drive mounted at another path,
    were all transcribed (and paid for) again: earlier work was found by path only."""
    sample = sorted((EXAMPLES / "media").iterdir())[0]
    before = tmp_path / "inbox" / "talk.wav"
    before.parent.mkdir()
    before.write_bytes(sample.read_bytes())
    settings = Settings(out_dir=tmp_path)
    with Store(tmp_path / "db.sqlite") as store:
        first = create_session(store, settings, [ItemSpec(str(before), SourceType.LOCAL_FILE)])
        finish(store, first.id, ItemStatus.DONE, ["talk.md"])
        after = tmp_path / "2024" / "May" / "talk.wav"
        after.parent.mkdir(parents=True)
        before.rename(after)  # a move keeps size, time and content
        other = tmp_path / "other.wav"
        other.write_bytes(sample.read_bytes()[:-2] + b"\x00\x01")  # another recording
        moved = create_session(
            store,
            settings,
            [
                ItemSpec(str(after), SourceType.LOCAL_FILE),
                ItemSpec(str(other), SourceType.LOCAL_FILE),
            ],
        )
        found, new = store.items(moved.id)
        assert (found.status, new.status) == (ItemStatus.SKIPPED, ItemStatus.QUEUED)
        assert found.metadata["archived_outputs"] == [str(first.folder / "talk.md")]


def test_two_sessions_of_one_list_running_together_transcribe_each_item_once(
    tmp_path: Path,
) -> None:
    # Two `run`s of one list, the second started while the first transcribes its first item:
    # each session waits for what the other is transcribing and links it when it is done.
    first_store, first, settings = make_session(tmp_path, ["blocking-talk", "short-talk"])
    first_engine, second_engine = ScriptedEngine(), ScriptedEngine()
    first_run = run_in_thread(Runner(first_store, first.id, settings, engine=first_engine))
    assert first_engine.started.wait(30)  # the first session is transcribing blocking-talk
    second_store = Store(settings.database)
    second = create_session(
        second_store,
        settings,
        [ItemSpec(i.source, i.source_type) for i in first_store.items(first.id)],
    )
    second_run = run_in_thread(Runner(second_store, second.id, settings, engine=second_engine))
    wait_for(lambda: statuses(second_store, second.id)["short-talk"] == "done")
    wait_for(lambda: any(e.kind == "waiting" for e in second_store.events(second.id)))
    first_engine.release.set()
    first_run.join(30)
    second_run.join(30)

    assert (first_engine.calls, second_engine.calls) == (["blocking-talk"], ["short-talk"])
    assert statuses(first_store, first.id) == {"blocking-talk": "done", "short-talk": "skipped"}
    assert statuses(second_store, second.id) == {"blocking-talk": "skipped", "short-talk": "done"}
    linked = {Path(i.source).stem: i for i in second_store.items(second.id)}["blocking-talk"]
    assert linked.metadata["archived_session_id"] == first.id
    assert all(Path(output).exists() for output in linked.metadata["archived_outputs"])
    waiting = [e.message for e in second_store.events(second.id) if e.kind == "waiting"]
    assert waiting and first.id in waiting[0] and "paying for it twice" in waiting[0]
    first_store.close()
    second_store.close()


def test_force_transcribes_an_item_another_session_is_transcribing(tmp_path: Path) -> None:
    first_store, first, settings = make_session(tmp_path, ["blocking-talk"])
    first_engine, forced_engine = ScriptedEngine(), ScriptedEngine()
    first_run = run_in_thread(Runner(first_store, first.id, settings, engine=first_engine))
    assert first_engine.started.wait(30)
    forced_settings = settings.model_copy(update={"force": True})
    forced_store = Store(settings.database)
    forced = create_session(
        forced_store,
        forced_settings,
        [ItemSpec(i.source, i.source_type) for i in first_store.items(first.id)],
    )
    forced_engine.release.set()
    Runner(forced_store, forced.id, forced_settings, engine=forced_engine).run()
    first_engine.release.set()
    first_run.join(30)

    assert forced_engine.calls == first_engine.calls == ["blocking-talk"]
    assert statuses(forced_store, forced.id) == {"blocking-talk": "done"}
    first_store.close()
    forced_store.close()


def test_an_item_a_live_session_runs_is_not_started_by_another_but_a_stalled_ones_is(
    tmp_path: Path,
) -> None:
    settings = Settings(out_dir=tmp_path)
    with Store(tmp_path / "db.sqlite") as store:
        first = create_session(store, settings, [EPISODE])
        second = create_session(store, settings, [EPISODE])
        (running,) = store.items(first.id)
        (waiting,) = store.items(second.id)
        assert store.claim_session(first.id, new_owner(), 15.0, lambda owner: False) is None
        store.start_item(running.id)

        with pytest.raises(RunningElsewhere) as busy:
            store.start_unless_running_elsewhere(waiting.id, time.time() - 15.0)
        assert busy.value.session_id == first.id
        assert store.running_elsewhere(waiting.id, time.time() - 15.0) == first.id
        assert store.get_item(waiting.id).status is ItemStatus.QUEUED
        # Its owner's heartbeat is older than the expiry: a stalled or killed process.
        assert store.start_unless_running_elsewhere(waiting.id, time.time() + 1.0) == 1
        assert store.get_item(waiting.id).status is ItemStatus.RUNNING
