"""Secrets out of links and text."""

from __future__ import annotations

import pytest

from bulk_transcribe.redact import clean_title, redact_url, scrub, scrub_text


@pytest.mark.parametrize(
    ("url", "scrubbed"),
    [
        ("https://bob:hunter2@cdn.example/a.mp3", "https://bob:***@cdn.example/a.mp3"),
        ("https://ghp_TOKEN@cdn.example/a.mp3", "https://***@cdn.example/a.mp3"),
        (
            "https://cdn.example/a.mp3?api_key=K&episode=4&token=T",
            "https://cdn.example/a.mp3?api_key=***&episode=4&token=***",
        ),
        (
            "https://s3.example/a.mp3?X-Amz-Credential=C&X-Amz-Signature=S&X-Amz-Expires=60",
            "https://s3.example/a.mp3?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=60",
        ),
        ("https://app.example/#access_token=T&x=1", "https://app.example/#access_token=***&x=1"),
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL1",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL1",
        ),
        ("/home/me/talk.mp3", "/home/me/talk.mp3"),
    ],
)
def test_links_lose_their_credentials_and_keep_everything_else(url: str, scrubbed: str) -> None:
    assert redact_url(url) == scrubbed


def test_links_inside_text_are_scrubbed_and_the_sentence_kept() -> None:
    text = "could not fetch https://h.example/f.rss?auth=XYZ: HTTP 404 (see https://a:b@h/x)."
    assert scrub_text(text) == (
        "could not fetch https://h.example/f.rss?auth=***: HTTP 404 (see https://a:***@h/x)."
    )
    assert scrub({"feed": text, "n": [1, "https://h/?token=Q"]}) == {
        "feed": scrub_text(text),
        "n": [1, "https://h/?token=***"],
    }


def test_titles_lose_terminal_escapes_and_line_breaks() -> None:
    title = "Evil\x1b]0;x\x07 \x1b[31mRed\x00\n\tTitle\u202e"
    assert clean_title(title) == "Evil]0;x [31mRed Title"
    assert clean_title("\x1b\x07") is None
