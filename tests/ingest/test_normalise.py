import pytest

from bulk_transcribe.ingest.normalise import dedupe_key, normalise_url, without_tracking


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=abc&t=30",
        "https://m.youtube.com/shorts/dQw4w9WgXcQ?pp=xyz",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ",
        "https://www.youtube.com/v/dQw4w9WgXcQ",
    ],
)
def test_all_youtube_video_forms_share_one_key(url: str) -> None:
    assert dedupe_key(url) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def test_case_of_scheme_and_host_default_port_fragment_and_trailing_slash_do_not_matter() -> None:
    assert normalise_url("HTTPS://Example.COM:443/Show/Ep1/#top") == "https://example.com/Show/Ep1"
    assert normalise_url("http://example.com:80/a") == "http://example.com/a"
    assert normalise_url("http://example.com:8080/a") == "http://example.com:8080/a"


def test_tracking_parameters_are_dropped_and_the_rest_sorted() -> None:
    url = "https://example.com/a.mp3?b=2&utm_source=x&a=1&fbclid=f&gclid=g&utm_medium=y"
    assert normalise_url(url) == "https://example.com/a.mp3?a=1&b=2"


def test_youtube_only_parameters_are_kept_on_other_sites() -> None:
    # `t` or `si` may be meaningful to another server, so only YouTube loses them.
    assert normalise_url("https://example.com/a?t=5&si=1") == "https://example.com/a?si=1&t=5"


def test_youtube_playlist_key_ignores_share_noise() -> None:
    assert dedupe_key("https://www.youtube.com/playlist?si=x&list=PL1") == dedupe_key(
        "https://m.youtube.com/playlist?list=PL1"
    )


def test_file_paths_are_their_own_key() -> None:
    assert dedupe_key("/data/a.mp3") == "/data/a.mp3"


def test_a_link_without_tracking_keeps_the_rest_as_written() -> None:
    assert without_tracking("https://E.com/a.mp3?b=2&UTM_Source=x&a=%20&fbclid=f") == (
        "https://E.com/a.mp3?b=2&a=%20"
    )
    assert without_tracking("https://e.com/a.mp3?utm_source=x#t=3") == "https://e.com/a.mp3#t=3"
    assert without_tracking("https://e.com/a.mp3?token=abc") == "https://e.com/a.mp3?token=abc"


def test_http_and_https_links_to_the_same_file_share_one_key() -> None:
    """A list merged from two places held both spellings: two downloads, two transcripts."""
    assert dedupe_key("http://Example.com/ep1.mp3") == dedupe_key("https://example.com/ep1.mp3")
    assert dedupe_key("http://example.com:8080/a") != dedupe_key("http://example.com/a")
