"""The recorded search results' audio: bundled samples served over real HTTP on 127.0.0.1,
one file per video id, so the chosen videos can really be downloaded and transcribed."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.research.recordings import Video
from tests.samples import SAMPLE_MEDIA


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def sample_for(index: int) -> Path:
    return SAMPLE_MEDIA[index % len(SAMPLE_MEDIA)]


def recorded_videos(videos: list[Video]) -> dict[str, dict[str, Any]]:
    """What the recorded YouTube says about each video (yt-dlp info fields) and its audio."""
    return {
        v.video_id: {
            "title": v.title,
            "channel": v.channel,
            "uploader": v.channel,
            "upload_date": v.published.replace("-", ""),
            "view_count": v.views,
            "ext": sample_for(n).suffix.lstrip("."),
        }
        for n, v in enumerate(videos)
    }


@contextmanager
def media_for(videos: list[Video], folder: Path) -> Iterator[str]:
    """Serve sample n as `<video id>.<ext>` for the n-th video; yields the base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, video in enumerate(videos):
        sample = sample_for(n)
        shutil.copy(sample, folder / f"{video.video_id}{sample.suffix}")
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
