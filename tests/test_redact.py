"""Secrets out of links and text; the real link only in the memory of the process that runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bulk_transcribe import redact
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.redact import clean_title, redact_url, remember, reveal, scrub, scrub_text


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


def test_the_real_link_is_revealed_only_to_the_process_that_remembered_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redact, "_real_urls", {})
    real = "https://bob:hunter2@cdn.example/a.mp3?token=T"
    stored = remember(real)
    assert stored == "https://bob:***@cdn.example/a.mp3?token=***"
    assert reveal(stored) == real
    assert reveal("https://cdn.example/plain.mp3") == "https://cdn.example/plain.mp3"

    monkeypatch.setattr(redact, "_real_urls", {})  # a later process, e.g. a resume
    with pytest.raises(PermanentError) as raised:
        reveal(stored)
    assert raised.value.kind is ErrorKind.AUTH
    assert "never saved" in raised.value.message and "hunter2" not in raised.value.message


def test_a_job_started_by_this_process_receives_the_real_links_through_a_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redact, "_real_urls", {})
    stored = remember("https://bob:hunter2@cdn.example/a.mp3")
    remember("https://eve:other@cdn.example/not-this-job.mp3")
    child_code = (
        "import json, os; from bulk_transcribe import redact; "
        f"print(json.dumps([redact.reveal({stored!r}), len(redact._real_urls), "
        "'BULK_TRANSCRIBE_URL_SECRETS_FD' in os.environ]))"
    )
    with redact.handed_over([stored, "https://plain.example/b.mp3"]) as (env, fds):
        assert "hunter2" not in json.dumps(env)
        child = subprocess.run(
            [sys.executable, "-c", child_code],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            pass_fds=fds,
            check=True,
        )
    assert json.loads(child.stdout) == ["https://bob:hunter2@cdn.example/a.mp3", 1, False]
