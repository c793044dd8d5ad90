"""Links pasted from mail, search results and chat come wrapped in a redirect: the wrapped
link is the item."""

from __future__ import annotations

import pytest

from bulk_transcribe.ingest.classify import classify_entry
from bulk_transcribe.ingest.redirects import unwrap_redirect
from bulk_transcribe.models import ItemSpec, SourceType

SAFELINK = (
    "https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fexample.org%2Fshow%2F"
    "ep1.mp3%3Futm_source%3Dnl&data=05%7C01%7Cjane.doe%40corp.example%7Cabc&sdata=XYZ&reserved=0"
)


@pytest.mark.parametrize(
    ("wrapped", "link"),
    [
        (
            "https://www.google.com/url?sa=t&url=https%3A%2F%2Fexample.org%2Fa.mp3&usg=AOv",
            "https://example.org/a.mp3",
        ),
        (
            "https://www.google.co.uk/url?q=https://example.org/a.mp3&sa=U",
            "https://example.org/a.mp3",
        ),
        (
            "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2Fa.mp3&h=AT0",
            "https://example.org/a.mp3",
        ),
        (
            "https://www.youtube.com/redirect?event=video_description&q=https%3A%2F%2Fexample.org%2Fa.mp3",
            "https://example.org/a.mp3",
        ),
        # SafeLinks around a Google result: both layers come off.
        (
            "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.google.com%2Furl"
            "%3Fq%3Dhttps%253A%252F%252Fexample.org%252Fa.mp3&data=x",
            "https://example.org/a.mp3",
        ),
        # Not wrappers, or wrapping nothing fetchable: left as they are.
        (
            "https://www.google.com/url?q=javascript:alert(1)",
            "https://www.google.com/url?q=javascript:alert(1)",
        ),
        (
            "https://example.org/url?q=https://other.example/a.mp3",
            "https://example.org/url?q=https://other.example/a.mp3",
        ),
        (
            "https://www.google.com/search?q=https://example.org",
            "https://www.google.com/search?q=https://example.org",
        ),
    ],
)
def test_the_link_a_redirect_wrapper_holds_is_taken_from_it(wrapped: str, link: str) -> None:
    assert unwrap_redirect(wrapped) == link


def test_a_link_pasted_from_outlook_is_the_media_without_the_readers_address() -> None:
    """Each SafeLinks link became an item that fetched Outlook's page, and its query (the
    reader's mail address) was kept with the session."""
    entry = classify_entry(SAFELINK, "mail.txt line 1")
    assert isinstance(entry, ItemSpec)
    assert (entry.source, entry.source_type) == (
        "https://example.org/show/ep1.mp3",
        SourceType.HTTP_MEDIA,
    )
    google = classify_entry(
        "https://www.google.com/url?url=https%3A%2F%2Fyoutu.be%2FdQw4w9WgXcQ&usg=x", "line 2"
    )
    assert isinstance(google, ItemSpec)
    assert (google.source, google.source_type) == (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        SourceType.YOUTUBE,
    )
