"""Expanding playlists, channels and podcast feeds into their videos and episodes, before a
run, by the source each belongs to (sources/*.py: `expands` and `expand`); links whose name
does not say what they are (no extension) are settled by asking the server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bulk_transcribe.errors import Cancelled, ErrorKind, TranscribeError, TransientError
from bulk_transcribe.ingest.dedupe import merge_duplicates
from bulk_transcribe.models import InvalidEntry, ItemSpec
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import (
    ExpandResult,
    Expansion,
    download,
    expander_for,
    ytdlp,
)
from bulk_transcribe.sources.base import FlatLister, InfoExtractor
from bulk_transcribe.sources.pacing import Pacer
from bulk_transcribe.sources.youtube_listing import collection_listing_url

SILENT_PROBES = 2  # probes of a host that timed out before its other links are not probed

__all__ = ["ExpandResult", "Expander", "Expansion", "collection_listing_url", "expand_items"]


@dataclass
class Expander:
    """The network calls are parameters so tests can stand in for youtube.com."""

    settings: Settings
    list_flat: FlatLister = ytdlp.flat_entries
    video_info: InfoExtractor = ytdlp.extract_info
    fetch_bytes: Callable[[str, Settings], bytes] = download.fetch_bytes
    probe: Callable[[str, Settings], download.Probe] = download.probe
    pacer: Pacer | None = None
    # Hosts whose probes of two links timed out: a dead server costs the start two
    # timeouts, not one per link (200 links to a host that never answers waited 30 s each
    # before the run began). One is not enough: a host may hang on one path only.
    _silent_hosts: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.probe = self._probe_unless_silent(self.probe)

    def _probe_unless_silent(
        self, probe: Callable[[str, Settings], download.Probe]
    ) -> Callable[[str, Settings], download.Probe]:
        def probe_unless_silent(url: str, settings: Settings) -> download.Probe:
            host = urlsplit(url).netloc.lower()
            if self._silent_hosts.get(host, 0) >= SILENT_PROBES:
                raise TransientError(
                    ErrorKind.TIMEOUT, f"{host} did not answer a moment ago; not asked again"
                )
            try:
                found = probe(url, settings)
            except TransientError as exc:
                if exc.kind is ErrorKind.TIMEOUT:
                    self._silent_hosts[host] = self._silent_hosts.get(host, 0) + 1
                raise
            self._silent_hosts.pop(host, None)  # it answers
            return found

        return probe_unless_silent

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
        return self.expand_as(spec, result)

    # --- what a source's expansion may ask for (sources.base.ExpandContext) ---------------

    def expand_as(self, spec: ItemSpec, result: ExpandResult) -> list[ItemSpec]:
        source = expander_for(spec)
        return [spec] if source is None else source.expand(spec, self, result)

    def pace(self) -> None:
        if self.pacer is not None:
            self.pacer.wait()


def expand_items(
    specs: Sequence[ItemSpec], settings: Settings, pacer: Pacer | None = None
) -> ExpandResult:
    """`specs` with every collection replaced by its items; YouTube is asked politely (paced)."""
    pacer = pacer or Pacer(settings.youtube_pace_seconds)
    return Expander(settings, pacer=pacer).expand(specs)
