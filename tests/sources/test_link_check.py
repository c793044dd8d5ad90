"""Checking links before a run: real HTTP on 127.0.0.1, nothing downloaded."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.link_check import check_links


def test_each_media_link_is_asked_whether_it_answers_and_youtube_is_left_for_the_run(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/ok.mp3", method="HEAD").respond_with_data(
        "", content_type="audio/mpeg"
    )
    httpserver.expect_request("/gone.mp3", method="HEAD").respond_with_data("", status=404)
    httpserver.expect_request("/no-head.mp3", method="HEAD").respond_with_data("", status=405)
    httpserver.expect_request("/no-head.mp3", method="GET").respond_with_data(
        b"\xff", content_type="audio/mpeg"
    )
    specs = [
        ItemSpec(httpserver.url_for("/ok.mp3"), SourceType.HTTP_MEDIA),
        ItemSpec(httpserver.url_for("/gone.mp3"), SourceType.HTTP_MEDIA),
        ItemSpec(httpserver.url_for("/no-head.mp3"), SourceType.HTTP_MEDIA),
        ItemSpec("http://127.0.0.1:9/closed.mp3", SourceType.HTTP_MEDIA),
        ItemSpec("https://www.youtube.com/watch?v=dQw4w9WgXcQ", SourceType.YOUTUBE),
    ]

    results = check_links(specs, Settings(), timeout=5)

    assert [r.ok for r in results] == [True, False, True, False, None]
    assert results[0].detail == "answers (audio/mpeg)"
    assert results[1].detail == "HTTP 404"
    assert results[3].detail.startswith("no answer")


def test_an_app_served_beyond_this_machine_refuses_to_check_links_into_it(
    httpserver: HTTPServer,
) -> None:
    """A visitor must not probe the server's own services (cloud metadata, admin ports)."""
    httpserver.expect_request("/latest/meta-data/").respond_with_data("ami-id", status=200)
    port = httpserver.port
    probe = ItemSpec(f"http://127.0.0.1:{port}/latest/meta-data/", SourceType.HTTP_MEDIA)
    served_publicly = Settings(public_addresses_only=True)

    (result,) = check_links([probe], served_publicly, timeout=5)

    assert result.ok is False
    assert "this machine (loopback)" in result.detail and "blocked" in result.detail
    assert "HTTP" not in result.detail and "answers" not in result.detail
    assert httpserver.log == []
