"""Speech-to-text through any OpenAI-compatible `/audio/transcriptions` API (OpenAI, Groq,
speaches, faster-whisper-server, LocalAI), with the official `openai` SDK."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import tempfile
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import httpx
import openai

from bulk_transcribe import workscope
from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.engines.base import EngineBase, EngineJob
from bulk_transcribe.engines.chunking import (
    AudioChunk,
    fit_for_upload,
    split_at_silences,
    stitch,
)
from bulk_transcribe.engines.http_errors import (
    error_for_status,
    error_for_transport,
    error_in_answer,
    unreadable_answer,
)
from bulk_transcribe.engines.presets import ProviderConfig, require_key, resolve_provider
from bulk_transcribe.engines.retries import RetryPolicy, call_with_retries
from bulk_transcribe.engines.segments import (
    ParsedTranscript,
    from_json_payload,
    parse_transcript_text,
)
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.media import probe_duration
from bulk_transcribe.models import MediaFile, Transcript
from bulk_transcribe.net import RequestHook, provider_client
from bulk_transcribe.settings import Settings
from bulk_transcribe.workscope import ResizableSlots

log = logging.getLogger(__name__)

# https://platform.openai.com/docs/api-reference/audio/createTranscription
ACCEPTED_SUFFIXES = frozenset(
    {".flac", ".mp3", ".mp4", ".mpeg", ".mpga", ".m4a", ".ogg", ".wav", ".webm"}
)
# Best first: verbose_json has timed segments; json and text only the words.
RESPONSE_FORMATS = ("verbose_json", "json", "text")
# Media longer than twice this is cut into pieces of about this length when several uploads
# may run at once: a 3-hour podcast becomes 18 uploads instead of one long wait.
PARALLEL_CHUNK_SECONDS = 600.0
# The server answers only once the whole upload is transcribed: allow it minutes, not seconds.
MIN_READ_TIMEOUT = 600.0
MB = 1024**2
# After a 413 the upload limit is halved and the media cut again, this many times at most,
# never below this size (about a minute of compact speech).
MAX_UPLOAD_SHRINKS = 4
MIN_UPLOAD_BYTES = 128 * 1024
CANCEL_CHECK_SECONDS = 0.5  # how often a multi-chunk upload looks for a cancel
# verbose_json names the language ("english"); the rest of the pipeline uses ISO codes.
LANGUAGE_CODES = {
    "english": "en", "spanish": "es", "french": "fr", "german": "de", "italian": "it",
    "portuguese": "pt", "dutch": "nl", "russian": "ru", "polish": "pl", "ukrainian": "uk",
    "turkish": "tr", "arabic": "ar", "hindi": "hi", "japanese": "ja", "korean": "ko",
    "chinese": "zh", "swedish": "sv", "czech": "cs", "greek": "el", "hebrew": "he",
}  # fmt: skip


def language_code(value: str | None) -> str | None:
    if not value:
        return None
    lowered = value.strip().lower()
    return LANGUAGE_CODES.get(lowered, lowered)


class OpenAICompatibleEngine(EngineBase):
    name = "openai"

    def __init__(
        self,
        provider: ProviderConfig,
        request_hook: RequestHook | None = None,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int = 1,
        parallel_chunk_seconds: float = PARALLEL_CHUNK_SECONDS,
        policy: AddressPolicy | None = None,
    ):
        self.provider = provider
        # Uploads in flight across every item: long media is cut into chunks that share
        # these slots, so one long podcast keeps idle workers busy without exceeding them.
        # Within a run the slots are the concurrency controller's (workscope.current_slots),
        # so a fall-back to sequential means one upload at a time; these are for other uses.
        self._concurrency = max(1, concurrency)
        self._own_slots = ResizableSlots(lambda: self._concurrency)
        self._parallel_chunk_seconds = parallel_chunk_seconds
        self.model = provider.model
        self._key = require_key(provider)
        self._retry = retry or RetryPolicy()
        http_client = provider_client(
            provider.provider_id,
            request_hook,
            policy=policy,
            trusted=[provider.api_base] if provider.operator_endpoint else [],
            timeout=timeout or httpx.Timeout(MIN_READ_TIMEOUT, connect=10.0),
        )
        # max_retries=0: tenacity retries instead, so Retry-After and our error kinds rule.
        self._client = openai.OpenAI(
            api_key=self._key,
            base_url=provider.api_base,
            http_client=http_client,
            max_retries=0,
        )
        # Lowered when the server (or a proxy before it) refuses an upload as too large.
        self._max_upload_bytes = provider.max_upload_bytes
        self._formats_lock = threading.Lock()
        self._formats: tuple[str, ...] = RESPONSE_FORMATS
        self._format_confirmed = False

    def close(self) -> None:
        self._client.close()

    def preflight(self, audio_seconds: float | None) -> list[str]:
        """One cheap request (the model list) before any upload: a rejected key or a wrong
        base URL stops the run here, not on every item."""
        self.offered_models = self.list_models()
        return []

    def list_models(self) -> tuple[str, ...] | None:
        """The provider's model names (GET /models); None when the server has no model list
        (many self-hosted servers answer 404 there, which still proves it is reachable)."""
        try:
            page = self._client.models.list()
        except openai.NotFoundError:
            return None
        except openai.APIStatusError as exc:
            if exc.status_code == 405:
                return None
            raise self._status_error(exc) from None
        except openai.APIConnectionError as exc:
            raise self._transport_error(exc) from None
        return tuple(sorted(model.id for model in page.data if getattr(model, "id", None)))

    def _status_error(self, exc: openai.APIStatusError) -> Exception:
        return error_for_status(
            self.provider.name,
            exc.status_code,
            body=exc.response.content,
            headers=exc.response.headers,
            secrets=[self._key],
            key_hint=self.provider.key_hint,
        )

    def _transport_error(self, exc: openai.APIConnectionError) -> Exception:
        cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
        if isinstance(exc, openai.APITimeoutError):
            cause = httpx.ReadTimeout("timed out")
        return error_for_transport(self.provider.name, cause, [self._key])

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        language = job.options.language
        for _ in range(MAX_UPLOAD_SHRINKS):
            try:
                with tempfile.TemporaryDirectory(prefix="bulk-transcribe-upload-") as folder:
                    chunks = self._chunks(media, Path(folder), job)
                    parts = self._transcribe_chunks(chunks, language, job)
                break
            except UploadTooLarge as refused:
                if not self._shrink_uploads(refused.size):
                    raise
        else:
            raise PermanentError(
                ErrorKind.UNSUPPORTED,
                f"{self.provider.name} refused uploads as too large (HTTP 413) down to "
                f"{self._max_upload_bytes / MB:.2f} MB; check its (or its proxy's) body size "
                "limit",
            )
        detected = next((p.language for _, p in parts if p.language), None)
        duration = media.duration or sum((c.duration or p.duration or 0.0) for c, p in parts)
        return Transcript(
            segments=stitch([(chunk, parsed.segments) for chunk, parsed in parts]),
            language=language or language_code(detected),
            duration=duration or None,
            engine=self.name,
            model=self.model,
            method="openai_api",
            timing_estimated=any(parsed.timing_estimated for _, parsed in parts),
        )

    def _shrink_uploads(self, refused_size: int) -> bool:
        """After a 413 for an upload of `refused_size` bytes: keep uploads under half of it
        from now on (every item's: the limit is the server's). False when too small to try."""
        with self._formats_lock:
            smaller = min(self._max_upload_bytes, refused_size // 2)
            if smaller < MIN_UPLOAD_BYTES:
                return False
            if smaller < self._max_upload_bytes:
                self._max_upload_bytes = smaller
                log.warning(
                    "%s refused an upload of %.2f MB as too large (HTTP 413): uploads are kept "
                    "under %.2f MB from now on (BULK_TRANSCRIBE_UPLOAD_LIMIT_MB sets it)",
                    self.provider.name, refused_size / MB, smaller / MB,
                )  # fmt: skip
        return True

    def _chunks(self, media: MediaFile, folder: Path, job: EngineJob) -> list[AudioChunk]:
        """Pieces to upload: within the upload limit, and shorter still for long media when
        several uploads may run at once."""
        tick = lambda: job.on_progress(0.0)  # noqa: E731 - lets a cancel interrupt encoding
        piece = self._parallel_chunk_seconds
        if self._concurrency > 1 and (media.duration or 0) > 2 * piece:
            chunks = split_at_silences(media.path, piece, folder, tick)
            if all(c.path.stat().st_size <= self._max_upload_bytes for c in chunks):
                return chunks
        return fit_for_upload(
            media.path,
            self._max_upload_bytes,
            folder,
            accepted_suffixes=ACCEPTED_SUFFIXES,
            duration=media.duration,
            tick=tick,
        )

    def _transcribe_chunks(
        self, chunks: list[AudioChunk], language: str | None, job: EngineJob
    ) -> list[tuple[AudioChunk, ParsedTranscript]]:
        """Every chunk, in parallel where slots allow; progress reported from this thread."""

        slots = workscope.current_slots.get() or self._own_slots
        keys = {id(c): self._chunk_key(c, i, len(chunks), language) for i, c in enumerate(chunks)}

        def one(chunk: AudioChunk) -> ParsedTranscript:
            key = keys[id(chunk)]
            saved = job.saved_chunks.get(key)
            if saved is not None:  # paid for by an earlier attempt
                return ParsedTranscript.from_json(saved)
            with slots.hold():  # let go when a cancel cuts the upload off, too
                workscope.raise_if_cancelled()  # a cancel while waiting for a slot
                parsed = call_with_retries(
                    self._retry, lambda: self._transcribe_file(chunk, language, job.options.prompt)
                )
            job.save_chunk(key, parsed.to_json())
            return parsed

        if len(chunks) == 1 or self._concurrency == 1:
            parts = []
            for index, chunk in enumerate(chunks):  # a cancel stops before the next upload
                parts.append((chunk, one(chunk)))
                job.on_progress((index + 1) / len(chunks))
            return parts
        results: dict[int, ParsedTranscript] = {}
        pool = ThreadPoolExecutor(
            max_workers=min(self._concurrency, len(chunks)), thread_name_prefix="chunk"
        )
        # Each upload runs in a copy of this item's context: its cancel and slots.
        futures = {
            pool.submit(contextvars.copy_context().run, one, chunk): index
            for index, chunk in enumerate(chunks)
        }
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=CANCEL_CHECK_SECONDS,
                                     return_when=FIRST_COMPLETED)  # fmt: skip
                for future in done:
                    results[futures[future]] = future.result()
                job.on_progress(len(results) / len(chunks))  # raises Cancelled on cancel
                workscope.raise_if_cancelled()
        finally:
            # On success every upload is over. On a cancel those on the wire end with it
            # (their connections are cut: abortable.py); on a failure the ones still running
            # finish on their own while the item moves on, and what they bring is kept.
            pool.shutdown(wait=False, cancel_futures=True)
        return [(chunk, results[index]) for index, chunk in enumerate(chunks)]

    def _chunk_key(self, chunk: AudioChunk, index: int, count: int, language: str | None) -> str:
        """Names a piece across attempts: the same media cut the same way for the same model
        gives the same pieces (a re-cut or another model gives new keys: uploaded again)."""
        duration = f"{chunk.duration:.3f}" if chunk.duration is not None else "?"
        return f"{self.model}|{language or ''}|{index}/{count}|{chunk.offset:.3f}|{duration}"

    # --- one upload -----------------------------------------------------------------------

    def _transcribe_file(
        self, chunk: AudioChunk, language: str | None, prompt: str | None = None
    ) -> ParsedTranscript:
        """Ask for the best response format the server supports, learning which that is."""
        formats = self._formats
        first_error: PermanentError | None = None
        for index, response_format in enumerate(formats):
            try:
                body, content_type = self._post(
                    chunk.path, chunk.name, response_format, language, prompt
                )
            except PermanentError as exc:
                fallback_possible = index + 1 < len(formats) and not self._format_confirmed
                if not isinstance(exc, FormatRefused) or not fallback_possible:
                    raise first_error or exc from None
                first_error = first_error or exc
                log.info("%s refused response_format=%s; trying the next", self.provider.name,
                         response_format)  # fmt: skip
                continue
            self._remember_format(formats[index:])
            duration = chunk.duration or _probe(chunk.path)
            return _parse(body, response_format, duration, self.provider.name, content_type)
        raise first_error or RuntimeError("no response format to try")

    def _remember_format(self, working: tuple[str, ...]) -> None:
        with self._formats_lock:
            if not self._format_confirmed:
                if working[0] != RESPONSE_FORMATS[0]:
                    log.warning(
                        "%s does not return timed segments (using %s): subtitle times will be "
                        "estimated from sentence lengths",
                        self.provider.name,
                        working[0],
                    )
                self._formats = working[:1]
                self._format_confirmed = True

    def _post(
        self,
        path: Path,
        name: str,
        response_format: str,
        language: str | None,
        prompt: str | None = None,
    ) -> tuple[str, str]:
        """The answer's body and its content type."""
        options: dict[str, object] = {"model": self.model, "response_format": response_format}
        if language:
            options["language"] = language
        # The API's own field for spelling names and terms. Sent as given, without the local
        # engine's "Spelled:" label (local_whisper.PROMPT_LABEL): OpenAI's guide to improving
        # reliability shows a bare comma-separated list of the terms, and the label's effect
        # there was measured on tiny.en only.
        if prompt:
            options["prompt"] = prompt
        if response_format == "verbose_json":
            options["timestamp_granularities"] = ["segment"]
        try:
            with path.open("rb") as upload:
                raw = self._client.audio.transcriptions.with_raw_response.create(
                    file=(name, upload), **options
                )
                return raw.http_response.text, raw.http_response.headers.get("content-type", "")
        # `from None` on purpose: SDK exceptions carry the provider's body and the request,
        # which a traceback would print; our typed error keeps what the user needs, scrubbed.
        except openai.APIStatusError as exc:
            error = self._status_error(exc)
            if exc.status_code == 404:
                message = f"{error.message}{_base_hint(self.provider.api_base)}"
                raise EndpointMissing(error.kind, message) from None
            if exc.status_code == 413:
                raise UploadTooLarge(error.kind, error.message, size=path.stat().st_size) from None
            if error.kind is ErrorKind.UNSUPPORTED and not _about_the_upload(exc):
                raise FormatRefused(error.kind, error.message) from None
            raise error from None
        except openai.APIConnectionError as exc:  # APITimeoutError is a subclass
            raise self._transport_error(exc) from None


class EndpointMissing(PermanentError):
    """A 404 for the transcription endpoint: no such path or model, for any item."""

    every_item = True  # the runner stops instead of sending every other item to it


def _base_hint(api_base: str | None) -> str:
    """What a 404 most often means about the API base a user typed."""
    path = httpx.URL(api_base or "").path.rstrip("/")
    if path.endswith("/audio/transcriptions"):
        return "; the API base is the part before /audio/transcriptions"
    if not path.split("/")[-1].startswith("v"):
        return "; OpenAI-compatible servers usually serve it under /v1: try the API base with /v1"
    return ""


class UploadTooLarge(PermanentError):
    """A 413: the server, or a proxy before it, takes smaller uploads than configured."""

    def __init__(self, kind: ErrorKind, message: str, *, size: int):
        super().__init__(kind, message)
        self.size = size


class FormatRefused(PermanentError):
    """A 400/415/422 that may be about the response format asked for: the next is tried."""


# What a refusal of the response format names (OpenAI: "response_format 'verbose_json' is not
# compatible with model ...", vLLM, faster-whisper-server, a validation error's field name),
# and what a refusal of the upload itself names ("Audio file is too short", "Invalid file
# format"). Sending the same file in another format only pays for those again.
_FORMAT_WORDS = ("response_format", "response format", "verbose_json", "timestamp_granularit")
_UPLOAD_WORDS = ("file", "audio", "too short", "too long", "duration", "decode", "media")


def _about_the_upload(exc: openai.APIStatusError) -> bool:
    """Whether a refusal is about the uploaded file, not about the response format."""
    if exc.status_code == 413:
        return True
    said = exc.response.content.decode("utf-8", "replace").lower()
    if any(word in said for word in _FORMAT_WORDS):
        return False
    return any(word in said for word in _UPLOAD_WORDS)


def _parse(
    body: str,
    response_format: str,
    duration: float | None,
    provider: str,
    content_type: str = "",
) -> ParsedTranscript:
    if response_format == "text":
        if body.lstrip().startswith("{"):  # an error object is not the words said
            with contextlib.suppress(ValueError):
                data = json.loads(body)
                if isinstance(data, dict) and (refused := error_in_answer(provider, data)):
                    raise refused
        return parse_transcript_text(body, duration)
    try:
        data = json.loads(body)
    except ValueError:
        text = body.strip()
        if text and text[0] not in "{[<" and "html" not in content_type.lower():
            # Plain words for a JSON request (some self-hosted servers and proxies): the
            # transcript all the same, paid for; its times are estimated.
            log.warning("%s answered %s with plain text", provider, response_format)
            return parse_transcript_text(text, duration)
        raise unreadable_answer(provider, "not JSON") from None
    if isinstance(data, dict) and (refused := error_in_answer(provider, data)) is not None:
        raise refused
    parsed = from_json_payload(data, duration) if isinstance(data, dict) else None
    if parsed is None:
        raise unreadable_answer(provider, "no text or segments in the JSON")
    return parsed


def _probe(path: Path) -> float | None:
    try:
        return probe_duration(path)
    except PermanentError:
        return None


def create(settings: Settings, request_hook: RequestHook | None = None) -> OpenAICompatibleEngine:
    provider = resolve_provider(settings)
    if provider.engine != "openai":
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"provider {provider.name!r} needs --engine {provider.engine}, not --engine openai",
        )
    read_timeout = max(settings.http_timeout, MIN_READ_TIMEOUT)
    timeout = httpx.Timeout(read_timeout, connect=min(10.0, settings.http_timeout))
    return OpenAICompatibleEngine(
        provider,
        request_hook,
        timeout=timeout,
        concurrency=settings.concurrency,
        policy=AddressPolicy.from_settings(settings),
    )
