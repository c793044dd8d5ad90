"""Creating a session: the settings and the items it will work through, stored up front."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.links import real_links
from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import Item, ItemSpec, Session, SourceType
from bulk_transcribe.plurals import counted
from bulk_transcribe.runner.episodes import archived_episodes
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.identity import file_fingerprint
from bulk_transcribe.store import Store

log = logging.getLogger(__name__)
ARCHIVE_PAGE = 1000


def create_session(
    store: Store,
    settings: Settings,
    specs: Sequence[ItemSpec],
    notes: Sequence[tuple[str, str]] = (),
) -> Session:
    """Store a new session with its items; `notes` are (kind, message) events to keep with it.

    Like yt-dlp's download archive, a source an earlier session already transcribed is added
    as skipped, linked to those transcripts, unless `settings.force` asks to redo it.
    """
    session = store.create_session(settings.out_dir, settings.public_dict())
    store.add_items(
        session.id, specs, durations=_known_durations(specs), fingerprints=_fingerprints(specs)
    )
    for kind, message in notes:
        store.add_event(session.id, kind, message)
    if not settings.force:
        skip_archived(store, session.id)
    session.folder.mkdir(parents=True, exist_ok=True)
    return session


def session_links(store: Store, specs: Sequence[ItemSpec]) -> dict[str, str]:
    """The real links of `specs` stored scrubbed, by item key: for the session's runner."""
    return real_links(specs, store.item_key)


def skip_archived(store: Store, session_id: str) -> int:
    """Mark queued items already done in another session as skipped; returns how many."""
    skipped = 0
    ids = store.queued_ids(session_id)
    for start in range(0, len(ids), ARCHIVE_PAGE):  # a page at a time: never every item
        queued = store.items_by_id(ids[start : start + ARCHIVE_PAGE])
        archived = store.done_elsewhere(session_id, [item.source for item in queued])
        for item in queued:
            if item.key in archived:
                store.skip_as_archived(item.id, archived[item.key])
        skipped += len(archived)
        skipped += _skip_archived_episodes(
            store, session_id, [item for item in queued if item.key not in archived]
        )
    if skipped:
        store.add_event(
            session_id,
            "archive",
            f"{counted(skipped, 'item')} already transcribed in earlier sessions were skipped "
            "(use --force to transcribe them again)",
        )
    return skipped


def _skip_archived_episodes(store: Store, session_id: str, queued: Sequence[Item]) -> int:
    """Skip the feed episodes among `queued` another session transcribed under another
    audio link (runner/episodes.py)."""
    archived = archived_episodes(store, queued, besides=session_id)
    for n, earlier in archived.items():
        store.skip_as_archived(queued[n].id, earlier)
    return len(archived)


def _fingerprints(specs: Sequence[ItemSpec]) -> dict[str, str]:
    """Local files by content as well as path, for the archive of earlier sessions."""
    found = {}
    for spec in specs:
        if spec.source_type is SourceType.LOCAL_FILE:
            fingerprint = file_fingerprint(Path(spec.source))
            if fingerprint:
                found[spec.source] = fingerprint
    return found


def _known_durations(specs: Sequence[ItemSpec]) -> dict[str, float]:
    """Durations known before anything is fetched, so totals, order and ETA are right from
    the start: local files from their headers, remote ones from the listing's metadata."""
    durations: dict[str, float] = {}
    for spec in specs:
        if spec.source_type is SourceType.LOCAL_FILE:
            try:
                durations[spec.source] = probe_duration(Path(spec.source))
            except TranscribeError as exc:  # the item will fail with this reason when it runs
                log.debug("could not probe %s: %s", spec.source, exc)
            continue
        listed = spec.metadata.get("duration", spec.metadata.get("episode_duration"))
        if isinstance(listed, int | float) and listed > 0:
            durations[spec.source] = float(listed)
    return durations
