"""Finding videos: the Data API with a key, yt-dlp without; what was transcribed is marked."""

from __future__ import annotations

from dataclasses import replace

from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.research import ytdlp_search
from bulk_transcribe.research.candidates import Candidate, VideoQuery
from bulk_transcribe.research.data_api import DataApiSearch
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store


def backend_name(settings: Settings) -> str:
    return "YouTube Data API" if settings.youtube_api_key else "yt-dlp search (no API key)"


def find_videos(
    query: VideoQuery,
    settings: Settings,
    ytdlp_factory: ytdlp_search.YoutubeDLFactory | None = None,
) -> list[Candidate]:
    if settings.youtube_api_key:
        key = settings.youtube_api_key.get_secret_value()
        with DataApiSearch(
            key,
            settings.youtube_api_base,
            settings.http_timeout,
            policy=AddressPolicy.from_settings(settings),
        ) as api:
            return api.search(query)
    return ytdlp_search.search_videos(query, settings, ytdlp_factory)


def mark_transcribed(store: Store, videos: list[Candidate]) -> list[Candidate]:
    """Each video flagged if a session of this store has already transcribed it."""
    done = store.transcribed(v.url for v in videos)
    return [replace(v, transcribed=v.url in done) for v in videos]
