"""YouTube videos: captions first (recorded youtube.com answers), the audio with real yt-dlp."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError, TransientError
from bulk_transcribe.models import SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import ytdlp
from bulk_transcribe.sources.pacing import Pacer
from bulk_transcribe.sources.youtube import YouTubeSource, make_transcript_api
from tests.samples import EXAMPLES
from tests.sources.items import make_context, make_item
from tests.sources.media_server import MediaServer, Route
from tests.sources.youtube_recordings import (
    RECAPTCHA_HTML,
    RecordedYouTube,
    Track,
    Video,
    bot_checked_video,
    deleted_video,
    private_video,
    recorded_info,
    recorded_session,
)

VIDEO_ID = "dQw4w9WgXcQ"
URL = f"https://www.youtube.com/watch?v={VIDEO_ID}"
MP3 = (EXAMPLES / "media" / "02_library_visit.mp3").read_bytes()

MANUAL_EN = Track(
    "en",
    "English",
    generated=False,
    snippets=[(0.0, 2.5, "Sunlight hits the panel."), (2.0, 3.0, "Electrons &amp; current.")],
)
GENERATED_EN = Track(
    "en", "English (auto-generated)", True, [(0.0, 4.0, "sunlight hits the panel")]
)
GENERATED_DE = Track("de", "Deutsch (automatisch)", True, [(0.5, 2.0, "Sonnenlicht trifft")])
MANUAL_FR = Track("fr", "Français", False, [(1.0, 2.0, "La lumière du soleil.")])


class FakeClock:
    """Time that passes only when someone sleeps: pacing is checked without waiting."""

    def __init__(self) -> None:
        self.time = 0.0
        self.slept = 0.0

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.time += seconds
        self.slept += seconds


class Harness:
    """A YouTubeSource wired to recorded youtube.com answers and a local media server."""

    def __init__(self, tmp_path: Path, media_server: MediaServer, videos: dict[str, Video]):
        self.session, self.youtube = recorded_session(videos)
        self.clock = FakeClock()
        self.pacer = Pacer(0, clock=self.clock.now, sleep=self.clock.sleep)
        self.info: dict[str, Any] | Exception = recorded_info(VIDEO_ID)
        self.media_url = media_server.add(f"/videos/{VIDEO_ID}.mp3", Route(MP3, "audio/mpeg"))
        self.media_server = media_server
        self.cache = tmp_path / "cache"
        self.source = YouTubeSource(
            info_extractor=self._extract,
            transcript_api=lambda settings: make_transcript_api(settings, self.session),
            media_url_for=lambda video_id: self.media_url,
            pacer=self.pacer,
        )

    def _extract(self, url: str, settings: Settings) -> dict[str, Any]:
        if isinstance(self.info, Exception):
            raise self.info
        return self.info

    def fetch(self, settings: Settings | None = None, engine_accepts_urls: bool = False):
        settings = settings or Settings(out_dir=self.cache.parent)
        context = make_context(settings, self.cache, engine_accepts_urls)
        return self.source.fetch(make_item(URL, SourceType.YOUTUBE), context)

    @property
    def media_downloads(self) -> int:
        return len(self.media_server.requests_to(f"/videos/{VIDEO_ID}.mp3"))


@pytest.fixture
def harness(tmp_path: Path, media_server: MediaServer) -> Callable[..., Harness]:
    return lambda *tracks, **video: Harness(
        tmp_path, media_server, {VIDEO_ID: Video(tracks=list(tracks), **video)}
    )


def test_manual_captions_are_preferred_and_keep_their_timestamps(harness) -> None:
    h = harness(GENERATED_EN, MANUAL_EN)
    fetched = h.fetch()
    transcript = fetched.transcript
    assert transcript.method == "captions_manual"
    assert transcript.language == "en"
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [
        (0.0, 2.0, "Sunlight hits the panel."),  # ends where the next cue starts: no overlap
        (2.0, 5.0, "Electrons & current."),
    ]
    assert h.media_downloads == 0


def test_the_frontmatter_gets_the_videos_metadata(harness) -> None:
    fetched = harness(MANUAL_EN).fetch()
    assert (fetched.title, fetched.duration) == ("How solar panels work", 16.0)
    assert fetched.metadata == {
        "video_id": VIDEO_ID,
        "channel": "Energy Explained",
        "channel_url": "https://www.youtube.com/channel/UCrecorded000000000000",
        "upload_date": "2024-03-05",
        "description": "A short explainer.\nChapters below.",
        "tags": ["solar", "energy"],
        "chapters": [
            {"start": 0.0, "end": 8.0, "title": "Light"},
            {"start": 8.0, "end": 16.0, "title": "Current"},
        ],
        "thumbnail": f"https://i.ytimg.com/vi/{VIDEO_ID}/maxresdefault.jpg",
        "view_count": 1234,
    }


def test_only_generated_captions_are_used_and_recorded_as_such(harness) -> None:
    fetched = harness(GENERATED_EN).fetch()
    assert fetched.transcript.method == "captions_generated"
    assert fetched.transcript.text == "sunlight hits the panel"


def test_without_a_preference_the_videos_own_language_comes_before_english(harness) -> None:
    h = harness(MANUAL_EN, MANUAL_FR)
    h.info = recorded_info(VIDEO_ID, language="fr")
    assert h.fetch().transcript.language == "fr"


def test_the_users_language_list_is_followed_manual_captions_first(harness, tmp_path: Path) -> None:
    h = harness(MANUAL_EN, GENERATED_DE, MANUAL_FR)
    settings = Settings(out_dir=tmp_path, caption_languages=("de", "fr"))
    transcript = h.fetch(settings).transcript
    assert (transcript.language, transcript.method) == ("fr", "captions_manual")
    only_german = Settings(out_dir=tmp_path, caption_languages=("de",))
    transcript = h.fetch(only_german).transcript
    assert (transcript.language, transcript.method) == ("de", "captions_generated")


def test_a_metadata_failure_never_blocks_the_transcript(harness) -> None:
    h = harness(MANUAL_EN)
    h.info = TransientError(ErrorKind.RATE_LIMITED, "HTTP Error 429")
    fetched = h.fetch()
    assert fetched.transcript.text == "Sunlight hits the panel. Electrons & current."
    assert (fetched.title, fetched.metadata) == (None, {})
    assert h.clock.slept >= 60  # the refusal held the caption request back


def test_without_captions_the_audio_is_downloaded_by_yt_dlp_into_the_cache(
    harness, tmp_path: Path
) -> None:
    h = harness(captions_disabled=True)
    fetched = h.fetch()
    assert fetched.transcript is None
    assert fetched.media.path == tmp_path / "cache" / "youtube" / f"{VIDEO_ID}.mp3"
    assert fetched.media.path.read_bytes() == MP3
    assert fetched.duration == pytest.approx(12.45, abs=0.1)
    assert fetched.title == "How solar panels work"
    requests_so_far = h.media_downloads
    h.fetch()
    assert h.media_downloads == requests_so_far  # the second fetch found it in the cache


def test_a_video_audio_download_cut_short_fails_retryably_and_leaves_the_cache(
    harness, tmp_path: Path
) -> None:
    """yt-dlp reads the length the server announced (a fifth of the file) and calls the
    download finished: the video's item fails as a retryable network error naming the video,
    the cut file leaves the cache, and the next try downloads it whole."""
    wav = (Path(__file__).resolve().parents[1] / "data" / "speech").joinpath(
        "librivox_dashwood_telephone.wav"
    )
    body = wav.read_bytes()
    h = harness(captions_disabled=True)
    path = f"/videos/{VIDEO_ID}.wav"
    h.media_url = h.media_server.add(path, Route(body, "audio/wav", claimed_length=len(body) // 5))

    with pytest.raises(TransientError) as raised:
        h.fetch()

    assert raised.value.kind is ErrorKind.NETWORK
    assert raised.value.message.startswith(f"{URL}: the server sent {len(body) // 5:,} bytes")
    assert "cut short" in raised.value.message
    assert list((tmp_path / "cache" / "youtube").iterdir()) == []
    h.media_server.add(path, Route(body, "audio/wav"))
    fetched = h.fetch()
    assert fetched.media is not None and fetched.media.path.read_bytes() == body


def test_captions_in_no_wanted_language_mean_the_audio_is_transcribed(
    harness, tmp_path: Path
) -> None:
    h = harness(GENERATED_DE)
    h.info = recorded_info(VIDEO_ID, language="de")
    fetched = h.fetch(Settings(out_dir=tmp_path, caption_languages=("ja",)))
    assert fetched.transcript is None and fetched.media is not None


def test_an_engine_that_takes_urls_gets_the_video_url_instead_of_a_download(harness) -> None:
    h = harness(captions_disabled=True)
    fetched = h.fetch(engine_accepts_urls=True)
    assert fetched.remote_url == URL
    assert fetched.media is None and h.media_downloads == 0


def test_captions_off_goes_straight_to_the_audio(harness, tmp_path: Path) -> None:
    h = harness(MANUAL_EN)
    fetched = h.fetch(Settings(out_dir=tmp_path, captions=False))
    assert fetched.transcript is None and fetched.media is not None
    assert h.youtube.requests == []


@pytest.mark.parametrize(
    "video",
    [
        Video(watch_html=RECAPTCHA_HTML),  # the watch page asks for a captcha
        Video(watch_status=429),
        bot_checked_video(),  # "Sign in to confirm you're not a bot"
    ],
)
def test_a_blocked_ip_fails_the_item_with_advice_and_slows_the_run_down(
    tmp_path: Path, media_server: MediaServer, video: Video
) -> None:
    h = Harness(tmp_path, media_server, {VIDEO_ID: video})
    with pytest.raises(TransientError) as caught:
        h.fetch()
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert "--cookies" in caught.value.message and "--proxy" in caught.value.message
    assert caught.value.retry_after and caught.value.retry_after > 0
    assert h.pacer.interval >= 1.0
    assert h.media_downloads == 0  # no hammering with a download after a block


def test_a_private_video_fails_saying_an_account_is_needed(
    tmp_path: Path, media_server: MediaServer
) -> None:
    h = Harness(tmp_path, media_server, {VIDEO_ID: private_video()})
    with pytest.raises(PermanentError) as caught:
        h.fetch()
    assert caught.value.kind is ErrorKind.AUTH
    assert "This video is private" in caught.value.message


def test_a_deleted_video_fails_as_not_found(tmp_path: Path, media_server: MediaServer) -> None:
    h = Harness(tmp_path, media_server, {VIDEO_ID: deleted_video()})
    with pytest.raises(PermanentError) as caught:
        h.fetch()
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert "deleted" in caught.value.message


def test_a_playlist_is_not_fetched_as_a_video(tmp_path: Path) -> None:
    item = make_item("https://www.youtube.com/playlist?list=PL123", SourceType.YOUTUBE)
    with pytest.raises(PermanentError) as caught:
        YouTubeSource(pacer=Pacer(0)).fetch(item, make_context(Settings(), tmp_path))
    assert "expanded into its videos" in caught.value.message


@pytest.mark.parametrize(
    ("message", "kind", "transient"),
    [
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Private video. Sign in if you've been granted access",
            ErrorKind.AUTH,
            False,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you’re not a bot. Use --cookies",
            ErrorKind.RATE_LIMITED,
            True,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This video has been removed",
            ErrorKind.NOT_FOUND,
            False,
        ),
        (
            "ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm your age. This video may be "
            "inappropriate for some users.",
            ErrorKind.AUTH,
            False,
        ),
        (
            "ERROR: Unable to download webpage: HTTP Error 429: Too Many Requests",
            ErrorKind.RATE_LIMITED,
            True,
        ),
    ],
)
def test_yt_dlp_errors_become_typed_errors(message: str, kind: ErrorKind, transient: bool) -> None:
    from yt_dlp.utils import DownloadError

    error = ytdlp.map_error(DownloadError(message), URL)
    assert (error.kind, error.transient) == (kind, transient)
    assert URL in error.message


def test_a_real_yt_dlp_failure_is_typed(media_server: MediaServer, tmp_path: Path) -> None:
    with pytest.raises(PermanentError) as caught:
        ytdlp.extract_info(media_server.url("/nothing-here"), Settings(out_dir=tmp_path))
    assert caught.value.kind is ErrorKind.NOT_FOUND


COOKIES = """# Netscape HTTP Cookie File
.youtube.com\tTRUE\t/\tTRUE\t2147483647\tSID\trecorded-session-cookie
"""


def test_cookies_and_proxy_reach_both_yt_dlp_and_the_caption_client(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(COOKIES)
    settings = Settings(cookies_file=cookies, proxy="http://127.0.0.1:3128")
    options = ytdlp.base_options(settings)
    assert (options["cookiefile"], options["proxy"]) == (str(cookies), "http://127.0.0.1:3128")
    session, _ = recorded_session({})
    make_transcript_api(settings, session)
    assert session.cookies.get("SID", domain=".youtube.com") == "recorded-session-cookie"
    assert session.proxies == {"http": "http://127.0.0.1:3128", "https": "http://127.0.0.1:3128"}


def test_an_unreadable_cookies_file_is_reported_with_the_format_it_needs(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text('{"not": "netscape"}')
    with pytest.raises(PermanentError) as caught:
        make_transcript_api(Settings(cookies_file=cookies))
    assert "Netscape cookies.txt" in caught.value.message


def test_the_recorded_session_answers_the_libraries_requests(tmp_path: Path) -> None:
    session, adapter = recorded_session({VIDEO_ID: Video(tracks=[MANUAL_EN])})
    api = make_transcript_api(Settings(), session)
    assert [t.language_code for t in api.list(VIDEO_ID)] == ["en"]
    assert isinstance(adapter, RecordedYouTube) and len(adapter.requests) == 2


def test_a_refused_audio_download_slows_the_run_down_too(harness) -> None:
    h = harness(captions_disabled=True)
    h.media_server.add(f"/videos/{VIDEO_ID}.mp3", Route(b"", "text/plain", status=429))
    with pytest.raises(TransientError) as caught:
        h.fetch()
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert h.pacer.interval >= 1.0
