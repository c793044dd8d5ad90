"""Speech-to-text with DEAPI: submit a job, store its request id at once, poll until it is done.

Protocol, from the provider's public documentation:
- https://docs.deapi.ai/api/analysis/upload-audio-file   POST /api/v1/client/audiofile2txt
  (multipart: audio, include_ts, model, return_result_in_response; 10 MB at most)
- https://docs.deapi.ai/api/analysis/video-to-text       POST /api/v1/client/vid2txt
  (JSON: video_url, include_ts, model, return_result_in_response)
- https://docs.deapi.ai/api/v1/utilities/get-results     GET /api/v1/client/request-status/{id}
  -> {"data": {"status": pending|processing|done|error, "progress", "result", "result_url"}}
- https://docs.deapi.ai/api/v1/utilities/check-balance   GET /api/v1/client/balance
  -> {"balance": 123}
- https://docs.deapi.ai/api/analysis/upload-audio-file-price
  POST /api/v1/client/audiofile2txt/price-calculation -> {"data": {"price": 0.25}}
Every call sends `Authorization: Bearer <key>` and `Accept: application/json`.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bulk_transcribe import abortable, workscope
from bulk_transcribe.addresses import AddressPolicy
from bulk_transcribe.engines.base import EngineBase, EngineJob
from bulk_transcribe.engines.chunking import AudioChunk, fit_for_upload, stitch
from bulk_transcribe.engines.http_errors import (
    error_for_response,
    error_for_transport,
    malformed_response,
    parse_retry_after,
    scrub,
)
from bulk_transcribe.engines.poll_timing import JobTimeEstimator, PollTiming
from bulk_transcribe.engines.presets import ProviderConfig, require_key, resolve_provider
from bulk_transcribe.engines.retries import RetryPolicy, call_with_retries
from bulk_transcribe.engines.segments import ParsedTranscript, parse_transcript_text
from bulk_transcribe.errors import ErrorKind, PermanentError, TransientError
from bulk_transcribe.models import MediaFile, Transcript
from bulk_transcribe.net import RequestHook, provider_client
from bulk_transcribe.settings import Settings

log = logging.getLogger(__name__)

API = "/api/v1/client"
# Formats audiofile2txt takes as they are; anything else is re-encoded to Ogg/Opus first.
ACCEPTED_SUFFIXES = frozenset({".aac", ".mp3", ".ogg", ".wav", ".webm", ".flac"})
DONE, FAILED = frozenset({"done", "completed"}), frozenset({"error", "failed"})
# Several request ids (one per chunk of a long file) share the item's one stored id.
CHUNK_IDS_PREFIX = "chunks:"
MINIMUM_BALANCE = 0.49  # below this DEAPI rejects new jobs (check-balance documentation)


@dataclass(frozen=True)
class PollPolicy:
    timing: PollTiming = field(default_factory=PollTiming)  # when to poll (poll_timing.py)
    # How long a request may take before we call it stuck: generous, and growing with the
    # audio, because a long file in a busy queue legitimately takes a while.
    base_seconds: float = 900.0
    seconds_per_audio_second: float = 3.0
    unknown_duration_seconds: float = 4 * 3600.0
    sleep_step: float = 0.5  # check for cancel this often while waiting

    def deadline(self, duration: float | None) -> float:
        if not duration:
            return self.unknown_duration_seconds
        return self.base_seconds + self.seconds_per_audio_second * duration


class _RequestEnded(Exception):
    """The provider says a request failed or does not exist."""


class DeapiEngine(EngineBase):
    name = "deapi"
    accepts_urls = True  # vid2txt fetches YouTube, X, Twitch and Kick videos itself

    def __init__(
        self,
        provider: ProviderConfig,
        request_hook: RequestHook | None = None,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        policy: AddressPolicy | None = None,
    ):
        self.provider = provider
        self.model = provider.model
        self._key = require_key(provider)
        self._retry = retry or RetryPolicy()
        self._poll = poll or PollPolicy()
        self._job_times = JobTimeEstimator(self._poll.timing)  # learned from this session
        timeout = timeout or httpx.Timeout(120.0, connect=10.0)
        self._api = provider_client(
            provider.provider_id,
            request_hook,
            policy=policy,
            trusted=[provider.api_base] if provider.operator_endpoint else [],
            base_url=provider.api_base,
            headers={"Authorization": f"Bearer {self._key}", "Accept": "application/json"},
            timeout=timeout,
        )
        # result_url points at storage, maybe another host: never send it the key, and do
        # not count it against the API's budget (it still pauses if storage answers 429).
        self._downloads = provider_client(
            f"{provider.provider_id}-results", request_hook, policy=policy, timeout=timeout,
            follow_redirects=True,
        )  # fmt: skip

    def close(self) -> None:
        self._api.close()
        self._downloads.close()

    # --- the engine interface -------------------------------------------------------------

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        saved = job.saved_request_id()
        if saved and not saved.startswith(CHUNK_IDS_PREFIX):
            # Submitted by an earlier attempt as one upload: no need to prepare the audio again.
            try:
                parsed = self._wait_for(saved, job, media.duration, (0.0, 1.0))
                whole = AudioChunk(media.path, 0.0, media.duration)
                return self._transcript([(whole, parsed)], media.duration)
            except _RequestEnded as ended:
                log.warning("earlier DEAPI request %s ended (%s); submitting again", saved, ended)
                saved = None
        ids = saved.removeprefix(CHUNK_IDS_PREFIX).split(",") if saved else []
        with tempfile.TemporaryDirectory(prefix="bulk-transcribe-deapi-") as folder:
            chunks = fit_for_upload(
                media.path,
                self.provider.max_upload_bytes,
                Path(folder),
                accepted_suffixes=ACCEPTED_SUFFIXES,
                duration=media.duration,
                tick=lambda: job.on_progress(0.0),
            )
            parts = []
            for index, chunk in enumerate(chunks):
                span = (index / len(chunks), (index + 1) / len(chunks))
                request_id = ids[index] if index < len(ids) else None
                submit = self._file_submitter(chunk, job, ids, index, len(chunks))
                parts.append((chunk, self._finish(request_id, job, chunk.duration, span, submit)))
        return self._transcript(parts, media.duration)

    def transcribe_url(self, url: str, job: EngineJob) -> Transcript:
        def submit() -> str:
            body = {
                "video_url": url,
                "include_ts": True,
                "model": self.model,
                "return_result_in_response": True,
            }
            request_id = self._submit(lambda: self._api.post(f"{API}/vid2txt", json=body))
            job.save_request_id(request_id)
            return request_id

        parsed = self._finish(job.saved_request_id(), job, None, (0.0, 1.0), submit)
        return self._transcript([(AudioChunk(Path(), 0.0, None), parsed)], parsed.duration)

    # --- account --------------------------------------------------------------------------

    def balance(self) -> float:
        data = self._get_json(f"{API}/balance", "checking the balance")
        value = data.get("balance", (data.get("data") or {}).get("balance"))
        if not isinstance(value, int | float):
            raise malformed_response("deapi", "no balance in the answer")
        return float(value)

    def price_estimate(self, audio_seconds: float) -> float:
        """What transcribing this much audio should cost, as DEAPI calculates it."""
        fields = {
            "include_ts": (None, "true"),
            "model": (None, self.model),
            "duration_seconds": (None, str(max(1, round(audio_seconds)))),
        }

        def ask() -> dict[str, Any]:
            response = self._send(
                lambda: self._api.post(f"{API}/audiofile2txt/price-calculation", files=fields),
                "estimating the price",
            )
            return _json(response, "deapi")

        data = call_with_retries(self._retry, ask).get("data")
        price = data.get("price") if isinstance(data, dict) else None
        if not isinstance(price, int | float):
            raise malformed_response("deapi", "no price in the answer")
        return float(price)

    def preflight(self, audio_seconds: float | None) -> list[str]:
        """Lines to show before a run: the balance and, when known, the price estimate."""
        balance = self.balance()
        lines = [f"DEAPI balance: ${balance:.2f}"]
        if audio_seconds:
            price = self.price_estimate(audio_seconds)
            lines.append(
                f"Estimated DEAPI price for {audio_seconds / 60:.1f} audio minutes "
                f"({self.model}): ${price:.2f}"
            )
            if price > balance:
                lines.append("Warning: the estimate is more than the balance; top up first.")
        if balance < MINIMUM_BALANCE:
            lines.append(
                f"Warning: DEAPI rejects new jobs below ${MINIMUM_BALANCE:.2f}; top up first."
            )
        return lines

    # --- one request: submit (unless already submitted), then poll -------------------------

    def _file_submitter(
        self,
        chunk: AudioChunk,
        job: EngineJob,
        ids: list[str] | None = None,
        index: int = 0,
        chunk_count: int = 1,
    ) -> Callable[[], str]:
        def submit() -> str:
            def post() -> httpx.Response:
                with chunk.path.open("rb") as audio:
                    return self._api.post(
                        f"{API}/audiofile2txt",
                        files={"audio": (chunk.name, audio)},
                        data={
                            "include_ts": "true",
                            "model": self.model,
                            "return_result_in_response": "true",
                        },
                    )

            request_id = self._submit(post)
            # Stored before the first poll: a crash from here on costs no second submission.
            if chunk_count == 1:
                job.save_request_id(request_id)
            else:
                assert ids is not None
                ids[index : index + 1] = [request_id]
                job.save_request_id(CHUNK_IDS_PREFIX + ",".join(ids))
            return request_id

        return submit

    def _finish(
        self,
        request_id: str | None,
        job: EngineJob,
        duration: float | None,
        span: tuple[float, float],
        submit: Callable[[], str],
    ) -> ParsedTranscript:
        if request_id:
            try:
                return self._wait_for(request_id, job, duration, span)
            except _RequestEnded as ended:
                log.warning(
                    "earlier DEAPI request %s ended (%s); submitting again", request_id, ended
                )
        request_id = submit()
        try:
            return self._wait_for(request_id, job, duration, span, fresh=True)
        except _RequestEnded as ended:
            raise TransientError(
                ErrorKind.PROVIDER, f"DEAPI request {request_id} failed: {ended}"
            ) from None

    def _submit(self, post: Callable[[], httpx.Response]) -> str:
        # Refusals (4xx, 5xx, 429) made no job and are retried. A garbled 2xx is not: DEAPI
        # accepted (and charged for) a job whose id it cannot tell, like a lost answer.
        def submit_once() -> str:
            try:
                # A cancel cuts the upload off, never the answer that carries the job's id.
                with abortable.answer_kept():
                    response = post()
            except _AMBIGUOUS as exc:
                raise _ambiguous_submission(exc) from None
            except httpx.HTTPError as exc:  # never reached DEAPI whole: safe to send again
                raise error_for_transport("deapi", exc, [self._key], "submitting") from None
            accepted = self._send(lambda: response, "submitting")
            if not accepted.is_success:  # a redirect: no job was made
                raise malformed_response("deapi", f"HTTP {accepted.status_code} to a submission")
            try:
                data = _json(accepted, "deapi").get("data")
            except TransientError:
                data = None
            request_id = data.get("request_id") if isinstance(data, dict) else None
            if request_id in (None, ""):
                raise _unreadable_submission(accepted.status_code)
            return str(request_id)

        return call_with_retries(self._retry, submit_once)

    def _wait_for(
        self,
        request_id: str,
        job: EngineJob,
        duration: float | None,
        span: tuple[float, float],
        *,
        fresh: bool = False,
    ) -> ParsedTranscript:
        """Poll until done. A fresh submission is first polled when its estimated time is
        up; one submitted by an earlier attempt at once (it may be done by now).

        The job's clock starts when the submission's answer arrives, a moment after the
        provider started it: a pace measured from there errs by that moment, which the
        estimate's margin covers."""
        limit = self._poll.deadline(duration)
        started = time.monotonic()
        deadline = started + limit
        fraction = span[0]
        wait = self._job_times.first_wait(duration) if fresh else 0.0
        projected: float | None = None  # the job's total time, from its progress
        polls = 0
        while True:
            if wait > 0:
                if time.monotonic() + wait > deadline:
                    raise PermanentError(
                        ErrorKind.TIMEOUT,
                        f"DEAPI request {request_id} was still unfinished after "
                        f"{limit / 60:.0f} minutes; check it on deapi.ai, then run "
                        "`bulk-transcribe resume --retry-failed` to poll it again (it is not "
                        "submitted twice)",
                    )
                self._sleep(wait, lambda done=fraction: job.on_progress(done))
            status, asked = self._status(request_id)
            polls += 1
            elapsed = time.monotonic() - started
            state = str(status.get("status", "")).lower()
            if state in DONE:
                if fresh and (projected is not None or polls > 1):
                    self._job_times.finished(duration, projected or elapsed)
                return self._result(request_id, status, duration)
            if state in FAILED:
                detail = status.get("error") or status.get("message") or "no reason given"
                raise _RequestEnded(scrub(str(detail), [self._key])[:300])
            progress = status.get("progress")
            progress = float(progress) if isinstance(progress, int | float) else None
            if progress is not None:
                fraction = span[0] + (span[1] - span[0]) * min(max(progress, 0), 100) / 100
            if fresh:
                projected = self._job_times.observe_progress(elapsed, progress) or projected
            wait = self._job_times.next_wait(elapsed, progress if fresh else None, wait, asked)

    def _sleep(self, seconds: float, check: Callable[[], None]) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            check()  # raises Cancelled when the user aborts
            workscope.sleep(min(left, self._poll.sleep_step))

    def _status(self, request_id: str) -> tuple[dict[str, Any], float | None]:
        """The request's status, and how long the provider asks us to wait (if it does)."""

        def poll_once() -> tuple[dict[str, Any], float | None]:
            response = self._send(
                lambda: self._api.get(f"{API}/request-status/{request_id}"),
                f"status of request {request_id}",
            )
            data = _json(response, "deapi", request_id).get("data")
            if not isinstance(data, dict):
                raise malformed_response("deapi", "no data in the status", request_id)
            return data, parse_retry_after(response.headers)

        try:
            return call_with_retries(self._retry, poll_once)
        except PermanentError as exc:
            if exc.kind is ErrorKind.NOT_FOUND:
                raise _RequestEnded("DEAPI does not know this request") from None
            raise

    def _result(
        self, request_id: str, status: dict[str, Any], duration: float | None
    ) -> ParsedTranscript:
        result, url = status.get("result"), status.get("result_url")
        if isinstance(result, str) and _looks_like_url(result) and not url:
            result, url = None, result.strip()
        if isinstance(result, str) and result.strip():
            return parse_transcript_text(result, duration)
        if isinstance(result, dict | list):
            return parse_transcript_text(json.dumps(result), duration)
        if isinstance(url, str) and url:
            return parse_transcript_text(self._download(url, request_id), duration)
        if result == "":
            return parse_transcript_text("", duration)  # silence: done, nothing said
        raise malformed_response("deapi", "done but no result or result_url", request_id)

    def _download(self, url: str, request_id: str) -> str:
        response = call_with_retries(
            self._retry,
            lambda: self._send(lambda: self._downloads.get(url), f"result of request {request_id}"),
        )
        return response.text

    def _get_json(self, path: str, what: str) -> dict[str, Any]:
        return call_with_retries(
            self._retry, lambda: _json(self._send(lambda: self._api.get(path), what), "deapi")
        )

    def _send(self, request: Callable[[], httpx.Response], what: str) -> httpx.Response:
        """One HTTP exchange; failures become typed errors without URL, headers or key."""
        try:
            response = request()
        except httpx.HTTPError as exc:
            raise error_for_transport("deapi", exc, [self._key], context=what) from None
        if response.status_code >= 400:
            raise error_for_response(
                "deapi", response, [self._key], context=what, key_hint=self.provider.key_hint
            )
        return response

    def _transcript(
        self, parts: list[tuple[AudioChunk, ParsedTranscript]], duration: float | None
    ) -> Transcript:
        return Transcript(
            segments=stitch([(chunk, parsed.segments) for chunk, parsed in parts]),
            language=next((p.language for _, p in parts if p.language), None),
            duration=duration or next((p.duration for _, p in parts if p.duration), None),
            engine=self.name,
            model=self.model,
            method="deapi",
            timing_estimated=any(parsed.timing_estimated for _, parsed in parts),
        )


# Failures after the whole submission was sent: DEAPI may have started (and charged for) the
# job. Its documented API finds a job only by the id this answer would have carried, so no
# status check can tell; the submission is not repeated without the user's say.
_AMBIGUOUS = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def _ambiguous_submission(exc: httpx.HTTPError) -> PermanentError:
    return PermanentError(
        ErrorKind.PROVIDER,
        f"DEAPI did not answer a submission it received ({type(exc).__name__}): it may have "
        "started the job and charged for it, so it is not sent again on its own; check your "
        "requests on deapi.ai, then run `bulk-transcribe resume --retry-failed` to submit it "
        "again",
    )


def _unreadable_submission(status: int) -> PermanentError:
    return PermanentError(
        ErrorKind.PROVIDER,
        f"DEAPI accepted a submission (HTTP {status}) but its answer carried no readable "
        "request id: it may have started the job and charged for it, so it is not sent again "
        "on its own; check your requests on deapi.ai, then run `bulk-transcribe resume "
        "--retry-failed` to submit it again",
    )


def _json(response: httpx.Response, provider: str, request_id: str | None = None) -> dict:
    try:
        data = response.json()
    except ValueError:
        raise malformed_response(provider, "not JSON", request_id) from None
    if not isinstance(data, dict):
        raise malformed_response(provider, "not a JSON object", request_id)
    return data


def _looks_like_url(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith(("http://", "https://")) and not any(c.isspace() for c in stripped)


def create(settings: Settings, request_hook: RequestHook | None = None) -> DeapiEngine:
    provider = resolve_provider(settings)
    if provider.engine != "deapi":
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"provider {provider.name!r} needs --engine {provider.engine}, not --engine deapi",
        )
    timeout = httpx.Timeout(max(settings.http_timeout, 120.0), connect=10.0)
    return DeapiEngine(
        provider, request_hook, timeout=timeout, policy=AddressPolicy.from_settings(settings)
    )
