"""The store when its disk fills up or its file is not a database: typed errors with advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.store import Store
from tests.disks import fill_disk


def test_a_full_disk_under_the_database_is_disk_full(small_disk: Path) -> None:
    with Store(small_disk / "bulk_transcribe.db") as store:
        session = store.create_session(small_disk, {})
        with pytest.raises(PermanentError) as raised:
            for n in range(100_000):
                store.add_event(session.id, "note", f"{n} " + "x" * 2000)
        assert raised.value.kind is ErrorKind.DISK_FULL
        assert "disk full while saving to the database" in raised.value.message
        # What was committed before the disk filled up is still there.
        assert store.events(session.id, limit=1)


def test_a_file_that_is_not_a_database_is_named_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "bulk_transcribe.db"
    path.write_bytes(b"not sqlite" * 500)
    with pytest.raises(PermanentError) as raised:
        Store(path)
    assert raised.value.kind is ErrorKind.DATABASE
    assert str(path) in raised.value.message and "move it aside" in raised.value.message


def test_a_folder_that_cannot_be_created_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PermanentError) as raised:
        Store(blocker / "out" / "bulk_transcribe.db")
    assert "cannot create the folder" in raised.value.message
    assert "--out" in raised.value.message


def test_only_failures_the_user_can_fix_outside_are_requeued_by_kind(tmp_path: Path) -> None:
    from bulk_transcribe.errors import RETRY_ON_RESUME
    from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType

    with Store(tmp_path / "db.sqlite") as store:
        session = store.create_session(tmp_path, {})
        kinds = ["disk_full", "network", "decode", "auth"]
        store.add_items(
            session.id, [ItemSpec(f"https://e.com/{k}.mp3", SourceType.HTTP_MEDIA) for k in kinds]
        )
        for item, kind in zip(store.items(session.id), kinds, strict=True):
            store.finish_item(item.id, ItemStatus.FAILED, error_kind=kind, error_message=kind)
        assert store.requeue_failed(session.id, RETRY_ON_RESUME) == 2
        statuses = {i.source.rsplit("/", 1)[1]: i.status for i in store.items(session.id)}
        assert statuses == {
            "disk_full.mp3": ItemStatus.QUEUED,
            "network.mp3": ItemStatus.QUEUED,
            "decode.mp3": ItemStatus.FAILED,
            "auth.mp3": ItemStatus.FAILED,
        }
        assert store.requeue_failed(session.id, []) == 0
        assert store.requeue_failed(session.id) == 2  # --retry-failed: everything


def test_a_database_opened_on_a_full_disk_is_disk_full_not_damaged(small_disk: Path) -> None:
    path = small_disk / "bulk_transcribe.db"
    with Store(path) as store:
        store.create_session(small_disk, {})
    filler = fill_disk(small_disk)
    with pytest.raises(PermanentError) as raised, Store(path) as store:
        store.create_session(small_disk, {})
    assert raised.value.kind is ErrorKind.DISK_FULL, raised.value.message
    assert "move it aside" not in raised.value.message  # it said so: advice to lose the store
    filler.unlink()
    with Store(path) as store:  # space freed: the same database works, its session kept
        assert len(store.list_sessions()) == 1


def test_a_database_on_a_full_disk_can_still_be_read(small_disk: Path) -> None:
    """`status` from another terminal while a run has filled the disk shows what is stored,
    rather than failing: opening an up-to-date database writes nothing."""
    path = small_disk / "bulk_transcribe.db"
    with Store(path) as run:
        session = run.create_session(small_disk, {})
        fill_disk(small_disk)
        with pytest.raises(PermanentError) as raised:
            run.add_event(session.id, "note", "x" * 100_000)
        assert raised.value.kind is ErrorKind.DISK_FULL
        with Store(path) as status:
            assert [s.id for s in status.list_sessions()] == [session.id]
