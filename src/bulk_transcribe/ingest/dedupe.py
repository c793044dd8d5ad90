"""Collapsing entries that name the same media into one item."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bulk_transcribe.ingest.normalise import dedupe_key
from bulk_transcribe.models import ItemSpec


def merge_duplicates(items: Iterable[ItemSpec]) -> tuple[list[ItemSpec], int]:
    """Unique items in first-seen order, and how many duplicates were dropped.

    The first occurrence wins, but a title only a later duplicate has is kept.
    """
    kept: dict[str, ItemSpec] = {}  # insertion-ordered; one dict lookup per item keeps it linear
    dropped = 0
    for item in items:
        key = dedupe_key(item.source)
        first = kept.get(key)
        if first is None:
            kept[key] = item
            continue
        dropped += 1
        if not first.title and item.title:
            kept[key] = replace(first, title=item.title)
    return list(kept.values()), dropped
