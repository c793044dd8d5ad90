"""Expanding playlists, channels and podcast feeds into their videos and episodes, before a run.

Also settles links whose name does not say what they are (no extension) by asking the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from bulk_transcribe.errors import Cancelled, TranscribeError
from bulk_transcribe.ingest.dedupe import merge_duplicates
from bulk_transcribe.ingest.paths import MEDIA_EXTENSIONS
from bulk_transcribe.ingest.result import InvalidEntry
from bulk_transcribe.ingest.youtube import is_video_id, video_id_from, watch_url
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import download, podcast, ytdlp
from bulk_transcribe.sources.pacing import Pacer

log = logging.getLogger(__name__)

_CHANNEL_TABS = frozenset({"videos", "shorts", "streams", "live", "podcasts", "playlists"})

FlatLister = Callable[[str, Settings], tuple[dict[str, Any], Iterator[dict[str, Any]]]]
InfoExtractor = Callable[[str, Settings], dict[str, Any]]


@dataclass(frozen=True)
class Expansion:
    """What one playlist, channel or feed turned into, to show the user before the run."""

    source: str
    kind: str  # "playlist", "channel", "podcast feed", "web page"
    title: str | None
    found: int  # entries looked at
    kept: int  # items it contributes
    notes: tuple[str, ...] = ()  # e.g. "limited to the latest 2"


@dataclass
class ExpandResult:
    items: list[ItemSpec] = field(default_factory=list)
    expansions: list[Expansion] = field(default_factory=list)
    invalid: list[InvalidEntry] = field(default_factory=list)
    duplicates_merged: int = 0


@dataclass
class Expander:
    """The network calls are parameters so tests can stand in for youtube.com."""

    settings: Settings
    list_flat: FlatLister = ytdlp.flat_entries
    video_info: InfoExtractor = ytdlp.extract_info
    fetch_bytes: Callable[[str, Settings], bytes] = download.fetch_bytes
    probe: Callable[[str, Settings], download.Probe] = download.probe
    pacer: Pacer | None = None

    def expand(self, specs: Sequence[ItemSpec]) -> ExpandResult:
        result = ExpandResult()
        expanded: list[ItemSpec] = []
        for spec in specs:
            try:
                expanded.extend(self._expand_one(spec, result))
            except Cancelled:
                raise
            except TranscribeError as exc:
                result.invalid.append(
                    InvalidEntry(spec.origin or "input", spec.source, exc.message)
                )
        result.items, result.duplicates_merged = merge_duplicates(expanded)
        return result

    def _expand_one(self, spec: ItemSpec, result: ExpandResult) -> list[ItemSpec]:
        if spec.source_type is SourceType.YOUTUBE and is_youtube_collection(spec.source):
            return self._youtube(spec, result)
        if spec.source_type is SourceType.PODCAST_FEED:
            return self._feed(spec, result)
        if spec.source_type is SourceType.HTTP_MEDIA and not has_media_extension(spec.source):
            return self._settle_unnamed(spec, result)
        return [spec]

    # --- YouTube playlists and channels ---------------------------------------------------

    def _youtube(self, spec: ItemSpec, result: ExpandResult) -> list[ItemSpec]:
        url = collection_listing_url(spec.source)
        kind = "playlist" if "list=" in url else "channel"
        self._pace()
        info, entries = self.list_flat(url, self.settings)
        title = info.get("title")
        videos, found, notes = self._pick_videos(entries, newest_first=kind == "channel")
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
                    metadata=_without_none(metadata),
                    origin=f"{spec.origin or spec.source}, {kind} #{number}",
                )
            )
        result.expansions.append(
            Expansion(spec.source, kind, title, found, len(items), tuple(notes))
        )
        return items

    def _pick_videos(
        self, entries: Iterable[dict[str, Any]], newest_first: bool
    ) -> tuple[list[dict[str, Any]], int, list[str]]:
        """Entries inside the date range, up to the limit, stopping as early as possible."""
        settings = self.settings
        after, before, limit = settings.date_after, settings.date_before, settings.limit
        kept: list[dict[str, Any]] = []
        found = outside = 0
        for entry in entries:
            if not is_video_id(str(entry.get("id", ""))):
                continue  # a nested playlist or a tab, not a video
            found += 1
            if after or before:
                day = entry_day(entry) or self._day_from_video(entry)
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

    def _day_from_video(self, entry: dict[str, Any]) -> date | None:
        """Flat listings often omit dates; ask for the one video (paced: it is a request)."""
        self._pace()
        try:
            info = self.video_info(watch_url(entry["id"]), self.settings)
        except TranscribeError as exc:
            log.info("no date for %s: %s", entry.get("id"), exc)
            return None
        entry.update({k: info.get(k) for k in ("upload_date", "timestamp") if info.get(k)})
        return entry_day(entry)

    def _pace(self) -> None:
        if self.pacer is not None:
            self.pacer.wait()

    # --- podcast feeds --------------------------------------------------------------------

    def _feed(self, spec: ItemSpec, result: ExpandResult) -> list[ItemSpec]:
        data = self.fetch_bytes(spec.source, self.settings)
        feed = podcast.parse_feed(data, spec.source)
        settings = self.settings
        chosen = podcast.select_episodes(
            feed.episodes, settings.latest, settings.date_after, settings.date_before
        )
        items: list[ItemSpec] = []
        for number, episode in enumerate(chosen, start=1):
            origin = f"{spec.origin or spec.source}, episode #{number}"
            if not episode.enclosure_url:
                reason = "episode has no audio file (no enclosure in the feed)"
                result.invalid.append(InvalidEntry(origin, episode.title or "untitled", reason))
                continue
            items.append(podcast.episode_spec(episode, feed, origin))
        notes = []
        if settings.latest and len(feed.episodes) > settings.latest:
            notes.append(f"latest {settings.latest}")
        if settings.date_after or settings.date_before:
            notes.append("date range applied")
        result.expansions.append(
            Expansion(
                spec.source,
                "podcast feed",
                feed.title,
                len(feed.episodes),
                len(items),
                tuple(notes),
            )
        )
        return items

    # --- links without an extension -------------------------------------------------------

    def _settle_unnamed(self, spec: ItemSpec, result: ExpandResult) -> list[ItemSpec]:
        """A link whose name does not say: its Content-Type and first bytes decide."""
        try:
            found = self.probe(spec.source, self.settings)
        except TranscribeError as exc:  # the item will fail with the reason when it runs
            log.info("could not probe %s: %s", spec.source, exc)
            return [spec]
        if found.is_feed:
            return self._feed(replace(spec, source_type=SourceType.PODCAST_FEED), result)
        if found.is_html:
            result.expansions.append(Expansion(spec.source, "web page", None, 1, 1))
            return [replace(spec, source_type=SourceType.WEB_PAGE)]
        return [spec]


def expand_items(
    specs: Sequence[ItemSpec], settings: Settings, pacer: Pacer | None = None
) -> ExpandResult:
    """`specs` with every collection replaced by its items; YouTube is asked politely (paced)."""
    pacer = pacer or Pacer(settings.youtube_pace_seconds)
    return Expander(settings, pacer=pacer).expand(specs)


def is_youtube_collection(url: str) -> bool:
    return video_id_from(urlsplit(url)) is None


def collection_listing_url(url: str) -> str:
    """A channel's videos tab (its home page lists tabs, not videos); playlists as they are."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if "list=" in parts.query or (segments and segments[-1] in _CHANNEL_TABS):
        return url
    return url.rstrip("/") + "/videos"


def has_media_extension(url: str) -> bool:
    return PurePosixPath(urlsplit(url).path).suffix.lower() in MEDIA_EXTENSIONS


def entry_day(entry: dict[str, Any]) -> date | None:
    """The day a flat-listed video was published, when the listing says."""
    upload = entry.get("upload_date")
    if isinstance(upload, str) and len(upload) == 8 and upload.isdigit():
        return date(int(upload[:4]), int(upload[4:6]), int(upload[6:]))
    stamp = entry.get("timestamp") or entry.get("release_timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, tz=UTC).date()
    return None


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
