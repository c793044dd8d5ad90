"""YouTube playlists and channels expanded into their videos, before a run: newest first for
channels, inside the date range and the limit, stopping as early as possible."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from bulk_transcribe.errors import TranscribeError
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.sources.base import ExpandContext, ExpandResult, Expansion
from bulk_transcribe.sources.youtube_links import is_video_id, video_id_from, watch_url

log = logging.getLogger(__name__)

_CHANNEL_TABS = frozenset({"videos", "shorts", "streams", "live", "podcasts", "playlists"})


def is_youtube_collection(url: str) -> bool:
    return video_id_from(urlsplit(url)) is None


def collection_listing_url(url: str) -> str:
    """A channel's videos tab (its home page lists tabs, not videos); playlists as they are."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if "list=" in parts.query or (segments and segments[-1] in _CHANNEL_TABS):
        return url
    return url.rstrip("/") + "/videos"


def entry_day(entry: dict[str, Any]) -> date | None:
    """The day a flat-listed video was published, when the listing says."""
    upload = entry.get("upload_date")
    if isinstance(upload, str) and len(upload) == 8 and upload.isdigit():
        return date(int(upload[:4]), int(upload[4:6]), int(upload[6:]))
    stamp = entry.get("timestamp") or entry.get("release_timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, tz=UTC).date()
    return None


def expand_collection(
    spec: ItemSpec, context: ExpandContext, result: ExpandResult
) -> list[ItemSpec]:
    url = collection_listing_url(spec.source)
    kind = "playlist" if "list=" in url else "channel"
    context.pace()
    info, entries = context.list_flat(url, context.settings)
    title = info.get("title")
    videos, found, notes = _pick_videos(context, entries, newest_first=kind == "channel")
    items = []
    for number, entry in enumerate(videos, start=1):
        day = entry_day(entry)
        metadata = {**spec.metadata, kind: title, f"{kind}_url": spec.source}
        if day is not None:
            metadata["upload_date"] = day.isoformat()
        if isinstance(entry.get("duration"), int | float):  # lets long videos go first
            metadata["duration"] = float(entry["duration"])
        items.append(
            ItemSpec(
                source=watch_url(entry["id"]),
                source_type=SourceType.YOUTUBE,
                title=entry.get("title"),
                metadata={k: v for k, v in metadata.items() if v is not None},
                origin=f"{spec.origin or spec.source}, {kind} #{number}",
            )
        )
    result.expansions.append(Expansion(spec.source, kind, title, found, len(items), tuple(notes)))
    return items


def _pick_videos(
    context: ExpandContext, entries: Iterable[dict[str, Any]], newest_first: bool
) -> tuple[list[dict[str, Any]], int, list[str]]:
    """Entries inside the date range, up to the limit, stopping as early as possible."""
    settings = context.settings
    after, before, limit = settings.date_after, settings.date_before, settings.limit
    kept: list[dict[str, Any]] = []
    found = outside = 0
    for entry in entries:
        if not is_video_id(str(entry.get("id", ""))):
            continue  # a nested playlist or a tab, not a video
        found += 1
        if after or before:
            day = entry_day(entry) or _day_from_video(context, entry)
            if day is not None and ((after and day < after) or (before and day > before)):
                outside += 1
                if newest_first and after and day < after:
                    break  # a channel lists newest first: everything further is older
                continue
        kept.append(entry)
        if limit and len(kept) >= limit:
            break
    notes = [f"{outside} outside the date range"] if outside else []
    if limit and len(kept) >= limit:
        notes.append(f"limited to {limit}")
    return kept, found, notes


def _day_from_video(context: ExpandContext, entry: dict[str, Any]) -> date | None:
    """Flat listings often omit dates; ask for the one video (paced: it is a request)."""
    context.pace()
    try:
        info = context.video_info(watch_url(entry["id"]), context.settings)
    except TranscribeError as exc:
        log.info("no date for %s: %s", entry.get("id"), exc)
        return None
    entry.update({k: info.get(k) for k in ("upload_date", "timestamp") if info.get(k)})
    return entry_day(entry)
