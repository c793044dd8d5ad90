"""The job manager runs sessions on background threads that belong to no browser tab."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.models import ItemSpec, ItemStatus, SessionStatus, SourceType
from bulk_transcribe.runner import Runner, create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.web.jobs import JobManager

JOIN_TIMEOUT = 120


def local_session(store: Store, out_dir: Path, media: list[Path]) -> tuple[str, Settings]:
    settings = Settings(out_dir=out_dir, formats=("txt",))
    specs = [ItemSpec(str(m), SourceType.LOCAL_FILE) for m in media]
    return create_session(store, settings, specs).id, settings


def test_a_started_session_runs_to_the_end_in_the_background(
    store: Store, out_dir: Path, sample_media: list[Path]
) -> None:
    jobs = JobManager(store)
    session_id, settings = local_session(store, out_dir, sample_media[:1])

    assert jobs.start(session_id, settings)
    assert jobs.join(session_id, JOIN_TIMEOUT)

    assert not jobs.is_running(session_id)
    assert store.get_session(session_id).status is SessionStatus.COMPLETED
    assert [i.status for i in store.items(session_id)] == [ItemStatus.DONE]


def test_a_session_already_running_is_not_started_twice(
    store: Store, out_dir: Path, sample_media: list[Path]
) -> None:
    jobs = JobManager(store)
    session_id, settings = local_session(store, out_dir, sample_media[:2])

    assert jobs.start(session_id, settings)
    second = jobs.start(session_id, settings)  # e.g. Resume clicked in a second tab
    running = jobs.running_sessions()
    jobs.join(session_id, JOIN_TIMEOUT)

    assert second is False
    assert running == [session_id]
    assert all(i.attempts == 1 for i in store.items(session_id))


def test_retry_failed_runs_only_the_failed_items_again(
    store: Store, out_dir: Path, sample_media: list[Path], corrupt_mp3: Path
) -> None:
    jobs = JobManager(store)
    session_id, settings = local_session(store, out_dir, [sample_media[0], corrupt_mp3])
    jobs.start(session_id, settings)
    jobs.join(session_id, JOIN_TIMEOUT)
    good, bad = store.items(session_id)
    assert (good.status, bad.status) == (ItemStatus.DONE, ItemStatus.FAILED)

    assert jobs.retry_failed(session_id, settings) == 1
    jobs.join(session_id, JOIN_TIMEOUT)

    good, bad = store.items(session_id)
    assert (good.attempts, bad.attempts) == (1, 2)
    assert bad.error_kind == "decode"


def test_a_crashing_run_is_recorded_where_the_pages_look(
    store: Store, out_dir: Path, sample_media: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self: Runner) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Runner, "run", crash)
    jobs = JobManager(store)
    session_id, settings = local_session(store, out_dir, sample_media[:1])

    jobs.start(session_id, settings)
    jobs.join(session_id, JOIN_TIMEOUT)

    assert store.get_session(session_id).status is SessionStatus.STOPPED
    last = store.events(session_id)[-1]
    assert last.kind == "error" and "disk on fire" in last.message and "resume" in last.message
