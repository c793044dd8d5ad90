"""Pages with embedded media and direct links, fetched by real yt-dlp from a local server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.models import SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.web_page import WebPageSource
from tests.samples import EXAMPLES
from tests.sources.items import make_context, make_item
from tests.sources.media_server import MediaServer, Route

M4A = (EXAMPLES / "media" / "03_coffee_recipe.m4a").read_bytes()
EPISODE_PAGE = b"""<!DOCTYPE html>
<html><head><title>Episode 12: Coffee</title>
<meta property="og:title" content="Episode 12: Coffee">
<meta property="og:description" content="How to brew a good cup.">
</head><body><h1>Episode 12</h1>
<audio controls><source src="/files/ep12.m4a" type="audio/mp4"></audio>
</body></html>"""


def test_the_audio_embedded_in_a_page_is_found_and_downloaded(
    media_server: MediaServer, tmp_path: Path
) -> None:
    media_server.add("/files/ep12.m4a", Route(M4A, "audio/mp4"))
    page = media_server.add("/episodes/12", Route(EPISODE_PAGE, "text/html; charset=utf-8"))
    context = make_context(Settings(out_dir=tmp_path), tmp_path / "cache")
    fetched = WebPageSource().fetch(make_item(page, SourceType.WEB_PAGE), context)
    assert fetched.media.path.parent == tmp_path / "cache" / "web"
    assert fetched.media.path.read_bytes() == M4A
    assert fetched.duration == pytest.approx(13.03, abs=0.1)
    assert fetched.title and "Episode 12" in fetched.title
    again = WebPageSource().fetch(make_item(page, SourceType.WEB_PAGE), context)
    assert again.media.path == fetched.media.path
    assert len(media_server.requests_to("/files/ep12.m4a")) == 1


def test_a_page_without_media_is_reported_as_such(
    media_server: MediaServer, tmp_path: Path
) -> None:
    page = media_server.add(
        "/about",
        Route(b"<html><head><title>About</title></head><body>Hi</body></html>", "text/html"),
    )
    context = make_context(Settings(out_dir=tmp_path), tmp_path / "cache")
    with pytest.raises(PermanentError) as caught:
        WebPageSource().fetch(make_item(page, SourceType.WEB_PAGE), context)
    assert "no audio or video" in caught.value.message
