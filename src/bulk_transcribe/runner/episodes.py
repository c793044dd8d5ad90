"""Podcast episodes an earlier session transcribed under another audio link.

Hosts change an episode's audio link (a new analytics prefix, a dated or signed query, a move
to another host); its guid in the feed stays. An episode is taken for one already transcribed
when its feed, its guid and its date or title match (sources/podcast.same_episode).
"""

from __future__ import annotations

from collections.abc import Sequence

from bulk_transcribe.models import Item, ItemSpec
from bulk_transcribe.sources.podcast import episode_identity, same_episode
from bulk_transcribe.store import ArchivedItem, Store


def archived_episodes(
    store: Store, specs: Sequence[ItemSpec | Item], besides: str | None = None
) -> dict[int, ArchivedItem]:
    """For each of `specs` (by position) that is an episode another session (not
    `besides`) transcribed, whatever its link was then: that episode's latest success."""
    positions: dict[str, dict[str, list[int]]] = {}  # feed -> guid -> positions in specs
    for n, spec in enumerate(specs):
        if (identity := episode_identity(spec)) is not None:
            feed_url, guid = identity
            positions.setdefault(feed_url, {}).setdefault(guid, []).append(n)
    found: dict[int, ArchivedItem] = {}
    for feed_url, by_guid in positions.items():
        for episode in store.done_episodes(feed_url, by_guid, besides):  # oldest first
            for n in by_guid[episode.guid]:
                if same_episode(specs[n], episode.title, episode.published):
                    found[n] = episode.archived
    return found
