"""Pages with embedded media and direct links, fetched by real yt-dlp from a local server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError, TransientError
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


SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("librivox_dashwood_telephone.wav", "audio/wav"), ("ljspeech_rare_names.opus", "audio/ogg")],
)
def test_a_pages_media_cut_short_in_yt_dlp_fails_retryably_and_leaves_the_cache(
    media_server: MediaServer, tmp_path: Path, name: str, content_type: str
) -> None:
    """The server announces a fifth of the file: yt-dlp reads what was announced and calls
    the download finished. The file then holds far less than it declares: a retryable
    network failure naming the page, nothing kept in the cache, and the whole file once the
    server is fixed."""
    body = (SPEECH / name).read_bytes()
    announced = len(body) // 5
    media_server.add(f"/files/{name}", Route(body, content_type, claimed_length=announced))
    page_html = EPISODE_PAGE.replace(b"/files/ep12.m4a", f"/files/{name}".encode()).replace(
        b"audio/mp4", content_type.encode()
    )
    page = media_server.add("/episodes/13", Route(page_html, "text/html; charset=utf-8"))
    cache = tmp_path / "cache"
    context = make_context(Settings(out_dir=tmp_path), cache)
    item = make_item(page, SourceType.WEB_PAGE)

    with pytest.raises(TransientError) as raised:
        WebPageSource().fetch(item, context)

    assert raised.value.kind is ErrorKind.NETWORK
    message = raised.value.message
    assert message.startswith(f"{page}: the server sent {announced:,} bytes of a file that")
    assert "cut short" in message and "`resume` retries it" in message
    assert [p for p in cache.rglob("*") if p.is_file() and p.parent.name == "web"] == []
    media_server.add(f"/files/{name}", Route(body, content_type))  # the host fixed its server
    fetched = WebPageSource().fetch(item, context)
    assert fetched.media is not None and fetched.media.path.read_bytes() == body
    assert fetched.duration is not None and fetched.duration > 7
