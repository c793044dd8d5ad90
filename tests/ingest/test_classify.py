from pathlib import Path

import pytest

from bulk_transcribe.ingest.classify import NO_SERVER_FILES, classify_entry, split_links
from bulk_transcribe.ingest.result import InvalidEntry
from bulk_transcribe.models import ItemSpec, SourceType

VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


def classify_ok(text: str, base_dirs: tuple[Path, ...] = ()) -> ItemSpec:
    entry = classify_entry(text, "test", base_dirs)
    assert isinstance(entry, ItemSpec), entry
    return entry


def classify_bad(text: str, base_dirs: tuple[Path, ...] = ()) -> InvalidEntry:
    entry = classify_entry(text, "test", base_dirs)
    assert isinstance(entry, InvalidEntry), entry
    return entry


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=42s",
        "http://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ&si=abc",
        "https://youtu.be/dQw4w9WgXcQ?si=tracking",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ?feature=share",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/v/dQw4w9WgXcQ",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/watch/dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL123#comments",
        "youtube.com/watch?v=dQw4w9WgXcQ",
        "dQw4w9WgXcQ",
    ],
)
def test_every_youtube_video_form_becomes_the_canonical_watch_url(url: str) -> None:
    item = classify_ok(url)
    assert item.source_type is SourceType.YOUTUBE
    assert item.source == VIDEO


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.youtube.com/playlist?list=PLabc&si=x",
            "https://www.youtube.com/playlist?list=PLabc",
        ),
        ("https://m.youtube.com/watch?list=PLabc", "https://www.youtube.com/playlist?list=PLabc"),
        # A playlist's embedded player: "videoseries" is 11 letters, not a video's id.
        (
            "https://www.youtube.com/embed/videoseries?list=PLabc",
            "https://www.youtube.com/playlist?list=PLabc",
        ),
        ("https://www.youtube.com/@SomeHandle/", "https://www.youtube.com/@SomeHandle"),
        ("https://youtube.com/channel/UC123", "https://www.youtube.com/channel/UC123"),
        ("https://www.youtube.com/c/Name/videos", "https://www.youtube.com/c/Name/videos"),
        ("https://www.youtube.com/user/old", "https://www.youtube.com/user/old"),
    ],
)
def test_youtube_playlists_and_channels_stay_youtube_with_normalised_url(
    url: str, expected: str
) -> None:
    item = classify_ok(url)
    assert item.source_type is SourceType.YOUTUBE
    assert item.source == expected


def test_youtube_url_without_video_or_collection_is_invalid() -> None:
    assert "YouTube" in classify_bad("https://www.youtube.com/watch?v=short").reason
    assert "YouTube" in classify_bad("https://www.youtube.com/").reason


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/podcast.rss",
        "https://example.com/show/feed.xml",
        "https://example.com/blog/feed/",
        "https://example.com/rss",
        "https://feeds.megaphone.fm/abc",
    ],
)
def test_feed_urls_are_podcast_feeds(url: str) -> None:
    assert classify_ok(url).source_type is SourceType.PODCAST_FEED


def test_other_http_urls_are_direct_media_kept_as_given_without_fragment() -> None:
    item = classify_ok("https://cdn.example.com/a.mp3?X-Signature=z&b=1#t=10")
    assert item.source_type is SourceType.HTTP_MEDIA
    assert item.source == "https://cdn.example.com/a.mp3?X-Signature=z&b=1"
    assert item.origin == "test"


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("ftp://example.com/a.mp3", "ftp"),
        ("javascript:alert(1)", "javascript"),
    ],
)
def test_other_schemes_are_rejected_by_name(text: str, scheme: str) -> None:
    assert classify_bad(text).reason.startswith(f"unsupported URL scheme '{scheme}'")


@pytest.mark.parametrize("text", ["hello world", "not-a-link", "12345"])
def test_garbage_is_rejected(text: str) -> None:
    assert classify_bad(text).reason == "not a URL or an existing file"


def test_malformed_urls_are_rejected_with_a_reason() -> None:
    assert classify_bad("https:///path-only").reason == "URL has no host name"
    assert "spaces" in classify_bad("https://example.com/a file.mp3").reason
    assert "malformed" in classify_bad("http://[::1/a.mp3").reason


def test_existing_media_file_becomes_local_file_with_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "talk.MP3").write_bytes(b"x")
    item = classify_ok("talk.MP3", (tmp_path,))
    assert item.source_type is SourceType.LOCAL_FILE
    assert item.source == str((tmp_path / "talk.MP3").resolve())
    assert item.title is None


def test_relative_paths_try_each_base_dir_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "x.wav").write_bytes(b"x")
    assert classify_ok("x.wav", (first, second)).source == str(second / "x.wav")


def test_existing_file_that_is_not_media_is_rejected_with_its_extension(tmp_path: Path) -> None:
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    assert classify_bad("notes.pdf", (tmp_path,)).reason == "not a media file: .pdf"


def test_an_existing_file_named_like_a_video_id_is_a_file_not_youtube(tmp_path: Path) -> None:
    (tmp_path / "abcdefghijk").write_bytes(b"x")
    assert classify_bad("abcdefghijk", (tmp_path,)).reason == "not a media file: no extension"


def test_missing_media_path_says_where_it_looked(tmp_path: Path) -> None:
    reason = classify_bad("missing.mp3", (tmp_path,)).reason
    assert reason == f"file not found (looked in {tmp_path})"


def test_quotes_around_pasted_paths_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "my talk.m4a").write_bytes(b"x")
    assert classify_ok(f"'{tmp_path / 'my talk.m4a'}'").source_type is SourceType.LOCAL_FILE


@pytest.mark.parametrize(
    "pasted",
    [
        "“https://example.com/ep.mp3”",  # Word's curly quotes
        "„https://example.com/ep.mp3“",  # German ones
        "‘https://example.com/ep.mp3’",
        "«https://example.com/ep.mp3»",
        "<https://example.com/ep.mp3>",  # mail
        '"https://example.com/ep.mp3',  # half a pair
        "\u200bhttps://example.com/ep.mp3\u200b",  # a zero-width space from a web page
        "\u00a0“https://example.com/ep.mp3”\u200e",  # no-break space, left-to-right mark
    ],
)
def test_quotes_and_brackets_a_paste_wrapped_a_link_in_are_ignored(pasted: str) -> None:
    assert classify_ok(pasted).source == "https://example.com/ep.mp3"


def test_a_file_link_a_file_manager_copies_is_that_local_file(tmp_path: Path) -> None:
    (tmp_path / "my talk.m4a").write_bytes(b"x")
    uri = (tmp_path / "my talk.m4a").as_uri()
    assert "%20" in uri
    assert classify_ok(uri).source == str((tmp_path / "my talk.m4a").resolve())
    localhost = uri.replace("file://", "file://localhost", 1)
    assert classify_ok(localhost).source_type is SourceType.LOCAL_FILE
    assert classify_bad((tmp_path / "gone.mp3").as_uri()).reason == "file not found"


def test_a_file_link_to_another_machine_or_in_a_shared_app_is_refused(tmp_path: Path) -> None:
    assert "another machine" in classify_bad("file://server/share/a.mp3").reason
    (tmp_path / "talk.wav").write_bytes(b"x")
    entry = classify_entry((tmp_path / "talk.wav").as_uri(), "test", None)
    assert isinstance(entry, InvalidEntry)
    assert entry.reason == NO_SERVER_FILES


def test_invalid_value_is_truncated() -> None:
    entry = classify_bad("x" * 1000)
    assert len(entry.value) <= 200


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("https://e.com/1.mp3 https://e.com/2.mp3", ["https://e.com/1.mp3", "https://e.com/2.mp3"]),
        (
            "https://e.com/1.mp3\nhttps://e.com/2.mp3",
            ["https://e.com/1.mp3", "https://e.com/2.mp3"],
        ),
        (
            "https://e.com/1.mp3, https://e.com/2.mp3",
            ["https://e.com/1.mp3", "https://e.com/2.mp3"],
        ),
        ("https://e.com/1.mp3;http://e.com/2.mp3", ["https://e.com/1.mp3", "http://e.com/2.mp3"]),
        (
            "“https://e.com/1.mp3” “https://e.com/2.mp3”",
            ["“https://e.com/1.mp3”", "“https://e.com/2.mp3”"],
        ),
        (
            "1. https://e.com/1.mp3 https://e.com/2.mp3",
            ["https://e.com/1.mp3", "https://e.com/2.mp3"],
        ),
    ],
)
def test_several_links_in_one_cell_are_split(text: str, links: list[str]) -> None:
    assert split_links(text) == links


@pytest.mark.parametrize(
    "text",
    [
        "https://e.com/go?next=https://e.com/2.mp3",  # a link inside a link's query
        "https://e.com/a,b.mp3",
        "https://e.com/My Episode.mp3",  # one link with a space: reported, not split
        "https://e.com/1.mp3 (part one)",
        "talk.mp3 https://e.com/2.mp3",  # not every part a link
    ],
)
def test_one_link_or_text_around_one_is_not_split(text: str) -> None:
    assert split_links(text) == [text]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("example.com/ep.mp3", "no such file; if it is a link, write it with https:// in front"),
        ("10.0.0.5:8080/ep.mp3", "no such file; if it is a link, write it with https:// in front"),
        ("https//example.com/ep.mp3", "looks like a link with its https:// mistyped"),
        ("htps://example.com/ep.mp3", "looks like a link with its https:// mistyped"),
        ("http:/example.com/ep.mp3", "URL has no host name (a slash missing after 'http:'?)"),
    ],
)
def test_a_link_missing_or_mistyping_its_scheme_says_so(text: str, reason: str) -> None:
    assert classify_bad(text).reason.startswith(reason)


def test_a_missing_relative_file_is_still_not_found(tmp_path: Path) -> None:
    assert classify_bad("talks/ep.mp3", (tmp_path,)).reason.startswith("file not found")


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("1. https://e.com/ep.mp3", None),
        ("12) https://e.com/ep.mp3", None),
        ("(a) https://e.com/ep.mp3", None),
        ("- https://e.com/ep.mp3", None),
        ("• “https://e.com/ep.mp3”", None),
        ("[Episode 7](https://e.com/ep.mp3)", "Episode 7"),
        ("Episode 7 – https://e.com/ep.mp3", "Episode 7"),
        ("3. Interview with Dr. Ng: https://e.com/ep.mp3", "Interview with Dr. Ng"),
    ],
)
def test_a_link_in_a_pasted_list_item_or_sentence_is_that_link_titled_by_its_words(
    line: str, title: str | None
) -> None:
    item = classify_ok(line)
    assert (item.source, item.title) == ("https://e.com/ep.mp3", title)


def test_a_numbered_file_name_is_still_a_file(tmp_path: Path) -> None:
    (tmp_path / "1. intro.mp3").write_bytes(b"x")
    assert classify_ok("1. intro.mp3", (tmp_path,)).source == str(tmp_path / "1. intro.mp3")


def test_words_after_a_link_are_not_taken_for_part_of_it() -> None:
    reason = classify_bad("https://e.com/ep.mp3 (part one)").reason
    assert reason.startswith("URL contains spaces: write those inside it as %20")


@pytest.mark.parametrize(
    ("text", "link", "title"),
    [
        ("https://e.com/ep7.mp3.", "https://e.com/ep7.mp3", None),
        ("https://e.com/ep7.mp3,", "https://e.com/ep7.mp3", None),
        ("Listen here: https://e.com/ep7.mp3!", "https://e.com/ep7.mp3", "Listen here"),
        ("(https://e.com/ep7.mp3)", "https://e.com/ep7.mp3", None),
        ("Episode 7 (https://e.com/ep7.mp3)", "https://e.com/ep7.mp3", "Episode 7"),
        ("Episode 7 (https://e.com/ep7.mp3).", "https://e.com/ep7.mp3", "Episode 7"),
        # Brackets a link owns, and marks inside it, stay.
        ("https://e.com/wiki/Talk_(2024)", "https://e.com/wiki/Talk_(2024)", None),
        ("https://e.com/get?sig=ab%3D=&n=1", "https://e.com/get?sig=ab%3D=&n=1", None),
    ],
)
def test_the_marks_prose_ends_a_link_with_are_not_fetched_as_part_of_it(
    text: str, link: str, title: str | None
) -> None:
    """A trailing full stop or comma was fetched as part of the link (a 404 whose cause the
    user cannot see), and "(https://…)" was looked for as a file."""
    item = classify_ok(text)
    assert (item.source, item.title) == (link, title)


@pytest.mark.parametrize(
    ("link", "feed"),
    [
        ("feed://example.org/podcast.rss", "https://example.org/podcast.rss"),
        ("feed:https://example.org/podcast.rss", "https://example.org/podcast.rss"),
        ("feed:http://127.0.0.1:8000/show.xml", "http://127.0.0.1:8000/show.xml"),
        ("itpc://feeds.example.org/show", "https://feeds.example.org/show"),
        ("pcast://example.org/podcast.rss", "https://example.org/podcast.rss"),
        ("podcast://example.org/feed", "https://example.org/feed"),
    ],
)
def test_a_podcast_apps_subscribe_link_is_the_feed(link: str, feed: str) -> None:
    """The link a site's "Subscribe" button gives was an unsupported URL scheme."""
    item = classify_ok(link)
    assert (item.source, item.source_type) == (feed, SourceType.PODCAST_FEED)
