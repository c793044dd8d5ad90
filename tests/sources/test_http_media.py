"""Direct media links as a source: downloaded once, probed, titled from the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_transcribe.models import SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import source_for
from bulk_transcribe.sources.http_media import title_from_url
from tests.samples import EXAMPLES
from tests.sources.items import make_context, make_item
from tests.sources.media_server import MediaServer, Route

OGG = (EXAMPLES / "media" / "04_weather_report.ogg").read_bytes()


def test_a_direct_link_is_downloaded_into_the_cache_and_probed(
    media_server: MediaServer, tmp_path: Path
) -> None:
    url = media_server.add("/audio/weather%20report.ogg", Route(OGG, "audio/ogg"))
    context = make_context(Settings(out_dir=tmp_path), tmp_path / "cache")
    fetched = source_for(SourceType.HTTP_MEDIA).fetch(
        make_item(url, SourceType.HTTP_MEDIA), context
    )
    assert fetched.title == "weather report"
    assert fetched.duration == pytest.approx(12.86, abs=0.1)
    assert fetched.media.path.is_relative_to(tmp_path / "cache" / "http")


def test_titles_from_links_keep_what_tells_them_apart_but_no_credentials() -> None:
    titles = {title_from_url(f"https://cdn.example/v12.mp3?n={n}") for n in range(9)}
    assert len(titles) == 9 and "v12 (n=3)" in titles
    signed = title_from_url(
        "https://bucket.example/talk.mp3?X-Amz-Signature=abcdef0123&X-Amz-Expires=600&part=2"
    )
    assert signed == "talk (part=2)"
    assert title_from_url("https://cdn.example/talk.mp3") == "talk"
