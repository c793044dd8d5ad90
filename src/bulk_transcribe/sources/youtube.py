"""YouTube videos: metadata and captions first, the best audio track when captions will not do."""

from __future__ import annotations

import http.cookiejar
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from bulk_transcribe import net
from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.errors import (
    Cancelled,
    ErrorKind,
    PermanentError,
    TranscribeError,
    TransientError,
)
from bulk_transcribe.models import (
    Entry,
    Fetched,
    InvalidEntry,
    Item,
    ItemSpec,
    MediaFile,
    Segment,
    SourceType,
    Transcript,
)
from bulk_transcribe.settings import SourceSettings
from bulk_transcribe.sources import ytdlp
from bulk_transcribe.sources.base import ExpandContext, ExpandResult, FetchContext, Source
from bulk_transcribe.sources.download import download_cache
from bulk_transcribe.sources.pacing import Pacer
from bulk_transcribe.sources.whole_files import checked_download
from bulk_transcribe.sources.youtube_links import (
    canonical_youtube_url,
    is_video_id,
    is_youtube_host,
    video_id_from,
    watch_url,
)
from bulk_transcribe.sources.youtube_listing import expand_collection, is_youtube_collection

if TYPE_CHECKING:  # the libraries are imported where used: they slow every CLI start
    import requests
    import youtube_transcript_api as yta

log = logging.getLogger(__name__)

FALLBACK_CAPTION_LANGUAGE = "en"
InfoExtractor = Callable[[str, SourceSettings], dict[str, Any]]
TranscriptApiFactory = Callable[[SourceSettings], "yta.YouTubeTranscriptApi"]
# YouTube links pasted without "https://", as address bars show them.
_SCHEMELESS = re.compile(
    r"^(?:(?:www|m|music)\.)?(?:youtube\.com|youtu\.be|youtube-nocookie\.com)/", re.IGNORECASE
)


class YouTubeSource(Source):
    name = "youtube"
    source_types = frozenset({SourceType.YOUTUBE})

    def __init__(
        self,
        *,
        info_extractor: InfoExtractor = ytdlp.extract_info,
        transcript_api: TranscriptApiFactory | None = None,
        media_url_for: Callable[[str], str] = watch_url,
        pacer: Pacer | None = None,
    ):
        """The seams exist because youtube.com cannot be reached from tests: recorded
        yt-dlp info dicts, a recorded HTTP session and a local media URL stand in for it."""
        self._extract_info = info_extractor
        self._transcript_api = transcript_api or make_transcript_api
        self._media_url_for = media_url_for
        self._pacer = pacer
        self._pacer_lock = threading.Lock()

    def pacer(self, settings: SourceSettings) -> Pacer:
        """One pacer per process: every worker shares YouTube's patience."""
        with self._pacer_lock:
            if self._pacer is None:
                self._pacer = Pacer(settings.youtube_pace_seconds)
            return self._pacer

    def claim(self, url: str, parts: SplitResult, origin: str) -> Entry | None:
        if not is_youtube_host(parts.hostname or ""):
            return None
        canonical = canonical_youtube_url(parts)
        if canonical is None:
            reason = "YouTube URL names no video, playlist or channel (a video id is 11 characters)"
            return InvalidEntry(origin, url, reason)
        return ItemSpec(source=canonical, source_type=SourceType.YOUTUBE, origin=origin)

    def claim_text(self, text: str, origin: str) -> Entry | None:
        if _SCHEMELESS.match(text):
            url = "https://" + text
            return self.claim(url, urlsplit(url), origin)
        if is_video_id(text):
            return ItemSpec(source=watch_url(text), source_type=SourceType.YOUTUBE, origin=origin)
        return None

    def expands(self, spec: ItemSpec) -> bool:
        return spec.source_type is SourceType.YOUTUBE and is_youtube_collection(spec.source)

    def expand(
        self, spec: ItemSpec, context: ExpandContext, result: ExpandResult
    ) -> list[ItemSpec]:
        return expand_collection(spec, context, result)

    def fetch(self, item: Item, context: FetchContext) -> Fetched:
        video_id = video_id_of(item.source)
        settings = context.settings
        pacer = self.pacer(settings)
        info = self._metadata(video_id, context, pacer)
        title, duration, metadata = ytdlp.metadata_from_info(info)
        if settings.captions:
            transcript = self._captions(video_id, info, context, pacer)
            if transcript is not None:
                return Fetched(
                    transcript=transcript,
                    title=title,
                    duration=duration or transcript.duration,
                    metadata=metadata,
                )
        if context.engine_accepts_urls:
            return Fetched(
                remote_url=item.source, title=title, duration=duration, metadata=metadata
            )
        pacer.wait(context.check_cancelled)
        try:
            path, _ = ytdlp.download_audio(
                self._media_url_for(video_id),
                context.cache_dir / "youtube",
                video_id,
                settings,
                context.check_cancelled,
            )
        except TranscribeError as exc:
            if exc.kind is ErrorKind.RATE_LIMITED:
                pacer.slow_down()
            raise
        pacer.succeeded()
        cache = download_cache(context.cache_dir, settings)
        cache.added(path)
        audio_duration = checked_download(path, item.source, cache)  # yt-dlp misses a cut
        return Fetched(
            media=MediaFile(path=path, duration=audio_duration),
            title=title,
            duration=audio_duration,
            metadata=metadata,
        )

    def _metadata(self, video_id: str, context: FetchContext, pacer: Pacer) -> dict[str, Any]:
        """yt-dlp's view of the video; a failure here costs the frontmatter, not the transcript."""
        pacer.wait(context.check_cancelled)
        try:
            info = self._extract_info(watch_url(video_id), context.settings)
        except Cancelled:
            raise
        except TranscribeError as exc:
            if exc.kind is ErrorKind.RATE_LIMITED:
                pacer.slow_down()
            log.info("no metadata for %s: %s", video_id, exc)
            return {}
        pacer.succeeded()
        return info

    def _captions(
        self, video_id: str, info: dict[str, Any], context: FetchContext, pacer: Pacer
    ) -> Transcript | None:
        """The best caption track as a transcript, or None when the audio must be transcribed."""
        import requests
        import youtube_transcript_api as yta

        api = self._transcript_api(context.settings)
        try:
            pacer.wait(context.check_cancelled)
            tracks = list(api.list(video_id))
            languages = preferred_languages(context.settings.caption_languages, info, tracks)
            track = choose_track(tracks, languages)
            if track is None:
                log.info("%s has no captions in %s", video_id, ", ".join(languages))
                return None
            pacer.wait(context.check_cancelled)
            fetched = track.fetch()
        except (yta.TranscriptsDisabled, yta.NoTranscriptFound) as exc:
            log.info("%s has no captions: %s", video_id, type(exc).__name__)
            return None
        except (yta.AgeRestricted, yta.PoTokenRequired, yta.YouTubeDataUnparsable) as exc:
            # yt-dlp may still get the audio (with cookies for age-restricted videos).
            log.info("captions of %s unreachable (%s); using the audio", video_id, exc.cause)
            return None
        except yta.FailedToCreateConsentCookie:
            return None
        except yta.RequestBlocked as exc:
            pacer.slow_down()
            raise TransientError(
                ErrorKind.RATE_LIMITED,
                f"YouTube is blocking caption requests from this IP address ({video_id}); "
                f"the run slows down; {ytdlp.BLOCKED_ADVICE}",
                retry_after=60.0,
            ) from exc
        except yta.CouldNotRetrieveTranscript as exc:
            raise _caption_error(video_id, exc) from exc
        except requests.RequestException as exc:
            raise TransientError(
                ErrorKind.NETWORK,
                f"could not reach YouTube for {video_id} ({type(exc).__name__}); "
                "check the internet connection or the --proxy setting",
            ) from exc
        pacer.succeeded()
        return transcript_from_captions(fetched, info.get("duration"))


def video_id_of(source: str) -> str:
    video_id = video_id_from(urlsplit(source))
    if video_id is None:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{source} is a playlist or channel, not a video: it is expanded into its videos "
            "when a run starts (bulk-transcribe run <url> --limit N)",
        )
    return video_id


def make_transcript_api(
    settings: SourceSettings, http_client: requests.Session | None = None
) -> yta.YouTubeTranscriptApi:
    """A fresh client per fetch: the library's sessions are not thread-safe."""
    import youtube_transcript_api as yta
    from youtube_transcript_api.proxies import GenericProxyConfig

    # The guarded session (net.py): caption requests are checked as they connect.
    session = http_client or net.requests_session(
        AddressPolicy.from_settings(settings), settings.proxy
    )
    session.request = _with_timeout(session.request, settings.http_timeout)  # type: ignore[method-assign]
    if settings.cookies_file:
        for cookie in load_cookies(settings.cookies_file):
            session.cookies.set_cookie(cookie)
    proxy = GenericProxyConfig(settings.proxy, settings.proxy) if settings.proxy else None
    return yta.YouTubeTranscriptApi(proxy_config=proxy, http_client=session)


def _with_timeout(request: Callable[..., Any], timeout: float) -> Callable[..., Any]:
    def send(method: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout)
        return request(method, url, **kwargs)

    return send


def load_cookies(path: Any) -> http.cookiejar.MozillaCookieJar:
    jar = http.cookiejar.MozillaCookieJar(str(path))
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except (OSError, http.cookiejar.LoadError) as exc:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"cannot read the cookies file {path}: {exc}; export it from your browser in "
            "Netscape cookies.txt format",
        ) from exc
    return jar


def preferred_languages(
    requested: Sequence[str], info: dict[str, Any], tracks: Iterable[Any]
) -> list[str]:
    """The user's list, or else the video's own language (what its speech is in), then English."""
    if requested:
        return [code.lower() for code in requested]
    spoken = info.get("language")
    if not spoken:  # YouTube generates captions in the spoken language
        spoken = next((t.language_code for t in tracks if t.is_generated), None)
    languages = [spoken.lower()] if spoken else []
    return list(dict.fromkeys([*languages, FALLBACK_CAPTION_LANGUAGE]))


def choose_track(tracks: Sequence[Any], languages: Sequence[str]) -> Any | None:
    """Manual captions before generated ones; within each, the first language that matches.

    "en" matches "en-GB" and the other way round, as people write either.
    """
    for generated in (False, True):
        for language in languages:
            for track in tracks:
                if track.is_generated == generated and _same_language(
                    track.language_code, language
                ):
                    return track
    return None


def _same_language(code: str, wanted: str) -> bool:
    code, wanted = code.lower(), wanted.lower()
    return code == wanted or code.split("-")[0] == wanted.split("-")[0]


def transcript_from_captions(fetched: yta.FetchedTranscript, duration: Any) -> Transcript:
    snippets = [s for s in fetched.snippets if s.text.strip()]
    segments = []
    for index, snippet in enumerate(snippets):
        end = snippet.start + snippet.duration
        following = snippets[index + 1].start if index + 1 < len(snippets) else None
        # Caption snippets say how long text stays on screen, so they overlap; cues must not.
        if following is not None and snippet.start < following < end:
            end = following
        segments.append(Segment(start=snippet.start, end=end, text=" ".join(snippet.text.split())))
    known = float(duration) if isinstance(duration, int | float) else None
    return Transcript(
        segments=segments,
        language=fetched.language_code,
        duration=known if known is not None else (segments[-1].end if segments else None),
        engine="youtube",
        model="captions",
        method="captions_generated" if fetched.is_generated else "captions_manual",
    )


def _caption_error(video_id: str, exc: yta.CouldNotRetrieveTranscript) -> TranscribeError:
    import youtube_transcript_api as yta

    url = watch_url(video_id)
    if isinstance(exc, yta.VideoUnavailable | yta.InvalidVideoId):
        return PermanentError(
            ErrorKind.NOT_FOUND,
            f"{url} is unavailable: deleted, made private, or the id is wrong",
        )
    if isinstance(exc, yta.VideoUnplayable):
        reason = " ".join(filter(None, [exc.reason, *exc.sub_reasons])) or "unplayable"
        needs_account = any(w in reason.lower() for w in ("private", "sign in", "members"))
        return PermanentError(
            ErrorKind.AUTH if needs_account else ErrorKind.NOT_FOUND,
            f"{url} cannot be played: {reason}"
            + ("; pass --cookies from an account that can watch it" if needs_account else ""),
        )
    if isinstance(exc, yta.CookieError):
        return PermanentError(ErrorKind.INVALID_INPUT, f"the cookies file was refused: {exc}")
    if isinstance(exc, yta.YouTubeRequestFailed):
        return TransientError(ErrorKind.NETWORK, f"YouTube request failed for {url}: {exc.reason}")
    return PermanentError(ErrorKind.PROVIDER, f"captions of {url} failed: {exc.cause}")
