"""The archive: a feed's episodes found by their guid, whatever link their audio had."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.store import ArchivedEpisode, Store

FEED = "https://feeds.example.org/show.rss"
PRIVATE_FEED = "https://feeds.example.org/private.rss?auth=s3cr3t-token-123456"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "state.db") as opened:
        yield opened


def episode(link: str, guid: str, feed: str = FEED) -> ItemSpec:
    return ItemSpec(link, SourceType.HTTP_MEDIA, metadata={"feed_url": feed, "guid": guid})


def guids(episodes: list[ArchivedEpisode]) -> list[str]:
    return [e.guid for e in episodes]


def transcribe(store: Store, specs: list[ItemSpec], status: ItemStatus) -> None:
    session = store.create_session(store.path.parent, {})
    store.add_items(session.id, specs)
    for item in store.items(session.id):
        store.start_item(item.id)
        store.finish_item(item.id, status, outputs=["x.md"], method="scripted")


def test_episodes_are_found_by_guid_in_their_own_feed_only(store: Store) -> None:
    transcribe(
        store,
        [
            episode("https://cdn.example.org/a.mp3?ts=1", "ep-1"),
            episode("https://cdn.example.org/b.mp3?ts=1", "ep-2", feed="https://other.org/f.rss"),
            episode("https://cdn.example.org/c.mp3?ts=1", "ep-3", feed=PRIVATE_FEED),
        ],
        ItemStatus.DONE,
    )
    transcribe(store, [episode("https://cdn.example.org/d.mp3", "ep-4")], ItemStatus.FAILED)

    # ep-2 is another feed's guid, ep-4 failed, ep-5 was never seen.
    assert guids(store.done_episodes(FEED, ["ep-1", "ep-2", "ep-4", "ep-5"])) == ["ep-1"]
    # A private feed's link is stored without its credential and still matches.
    assert guids(store.done_episodes(PRIVATE_FEED, ["ep-3"])) == ["ep-3"]
    assert store.done_episodes(FEED, []) == []
