"""Adding items: every distinct source is kept, even when two share a short key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.store import Store, item_key


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "state.db") as opened:
        yield opened


def colliding_sources() -> tuple[str, str]:
    """Two links whose 8-digit keys are equal (32 bits: found within ~100,000 tries)."""
    seen: dict[str, str] = {}
    n = 0
    while True:
        source = f"https://example.com/episodes/{n}.mp3"
        key = item_key(source)
        if key in seen:
            return seen[key], source
        seen[key] = source
        n += 1


def test_two_sources_sharing_a_short_key_are_both_kept(store: Store) -> None:
    first, second = colliding_sources()
    session = store.create_session(store.path.parent, {})
    specs_ = [ItemSpec(s, SourceType.HTTP_MEDIA) for s in (first, second, first)]

    assert store.add_items(session.id, specs_) == 2

    items = store.items(session.id)
    assert [i.source for i in items] == [first, second]
    assert items[0].key == item_key(first) and items[1].key == item_key(second, 16)
    assert store.add_items(session.id, specs_) == 0  # both known now: nothing added twice
