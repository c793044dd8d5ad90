"""youtube.com replaced in a whole process, for tests that run the app as a user does.

`install(media_base_url, videos)` swaps the YouTube source for one that reads each video's
metadata from a recording, finds no captions, and downloads the audio with real yt-dlp from
`{media_base_url}/{video_id}.<ext>` on a 127.0.0.1 server. Processes started by a test get it
through `youtube_hook/sitecustomize.py` (on PYTHONPATH, driven by environment variables), so
a Streamlit server and any session process it launches behave the same.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

MEDIA_ENV = "BULK_TRANSCRIBE_TEST_YOUTUBE_MEDIA"  # base URL of the media server
VIDEOS_ENV = "BULK_TRANSCRIBE_TEST_YOUTUBE_VIDEOS"  # JSON file: video id -> {title, ...}
HOOK_DIR = Path(__file__).with_name("youtube_hook")


def install(media_base_url: str, videos: dict[str, dict[str, Any]]) -> None:
    from bulk_transcribe import sources
    from bulk_transcribe.sources.youtube import YouTubeSource, make_transcript_api
    from tests.sources.youtube_recordings import Video, recorded_info, recorded_session

    def info(url: str, settings) -> dict[str, Any]:
        video_id = url.rsplit("v=", 1)[-1]
        return recorded_info(video_id, **videos.get(video_id, {}))

    def no_captions(settings):
        session, _ = recorded_session({v: Video(captions_disabled=True) for v in videos})
        return make_transcript_api(settings, session)

    source = YouTubeSource(
        info_extractor=info,
        transcript_api=no_captions,
        media_url_for=lambda video_id: f"{media_base_url}/{video_id}.{videos[video_id]['ext']}",
    )
    sources.SOURCES[:] = [s for s in sources.SOURCES if not isinstance(s, YouTubeSource)]
    sources.SOURCES.append(source)


def environment(media_base_url: str, videos: dict[str, dict[str, Any]], folder: Path) -> dict:
    """Variables that make a child process install the recording at start."""
    listing = folder / "recorded_videos.json"
    listing.write_text(json.dumps(videos), encoding="utf-8")
    repo = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join([str(HOOK_DIR), repo, os.environ.get("PYTHONPATH", "")])
    return {MEDIA_ENV: media_base_url, VIDEOS_ENV: str(listing), "PYTHONPATH": path}


def install_from_environment() -> None:
    media, listing = os.environ.get(MEDIA_ENV), os.environ.get(VIDEOS_ENV)
    if media and listing:
        install(media, json.loads(Path(listing).read_text(encoding="utf-8")))
