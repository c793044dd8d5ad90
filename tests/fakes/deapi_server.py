"""A fake DEAPI: submit (audiofile2txt, vid2txt), poll request-status, fetch result_url.

Follows https://docs.deapi.ai (see bulk_transcribe/engines/deapi.py for the endpoint list).
Knobs beyond `FakeProviderServer`'s: `polls_until_done` (status polls before a request is
done), `hold()` / `release()` (keep every request processing until released),
`result_style` ("timed" lines, "json" segments, "plain" text, or "url" for result_url),
`fail_next_jobs` (jobs that end with status "error"), `balance` and `price_per_minute`;
`job_seconds(audio_seconds)` makes jobs take real time instead of a number of polls (progress
then grows with the time), and `status_retry_after` is sent with every "processing" status.
Every submission is recorded with a hash of what was uploaded, so a test can prove that
nothing was submitted twice.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fakes.base import FakeProviderServer, Reply, Request
from tests.fakes.transcripts import FakeTranscription, Transcriber, sample_transcriber

API = "/api/v1/client"
RESULT_STYLES = ("timed", "json", "plain", "url")


@dataclass
class Job:
    request_id: str
    source: str  # uploaded file name, or the video URL
    digest: str  # sha256 of the upload (or of the URL)
    heard: FakeTranscription | None
    polls: int = 0
    failed: bool = False
    submitted: float = field(default_factory=time.monotonic)
    seconds: float | None = None  # how long the job takes, when jobs take real time


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:02d}:{minutes:02d}:{secs:06.3f}"


class FakeDeapiServer(FakeProviderServer):
    def __init__(
        self,
        *,
        polls_until_done: int = 2,
        result_style: str = "timed",
        balance: float = 12.5,
        price_per_minute: float = 0.01,
        transcriber: Transcriber = sample_transcriber,
        job_seconds: Callable[[float], float] | None = None,
        status_retry_after: str | None = None,
        **knobs,
    ):
        super().__init__(**knobs)
        if result_style not in RESULT_STYLES:
            raise ValueError(f"result_style must be one of {RESULT_STYLES}")
        self.polls_until_done = polls_until_done
        self.result_style = result_style
        self.balance = balance
        self.price_per_minute = price_per_minute
        self.transcriber = transcriber
        self.job_seconds = job_seconds
        self.status_retry_after = status_retry_after
        self.fail_next_jobs = 0
        self.jobs: dict[str, Job] = {}
        self._released = threading.Event()
        self._released.set()
        self._jobs_lock = threading.Lock()

    # --- test controls --------------------------------------------------------------------

    def hold(self) -> None:
        """Keep every request 'processing' until `release()`."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def submissions(self) -> list[Job]:
        with self._jobs_lock:
            return list(self.jobs.values())

    def submission_counts(self) -> Counter[str]:
        """How many times each distinct upload (by content) or URL was submitted."""
        return Counter(job.digest for job in self.submissions())

    def requires_key(self, request: Request) -> bool:
        return not request.path.startswith("/results/")  # storage links need no key

    # --- protocol -------------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        path, method = request.path, request.method
        if method == "POST" and path == f"{API}/audiofile2txt":
            upload = request.files.get("audio")
            if upload is None or request.fields.get("include_ts") is None:
                return Reply(422, {"message": "The audio field is required.", "errors": {}})
            try:
                heard = self.transcriber(upload.filename, upload.content)
            except Exception:
                return Reply(422, {"message": "The audio must be a file of a supported type."})
            digest = hashlib.sha256(upload.content).hexdigest()
            return self._accept(upload.filename, digest, heard)
        if method == "POST" and path == f"{API}/vid2txt":
            url = (request.json or {}).get("video_url")
            if not url:
                return Reply(422, {"message": "The video url field is required."})
            heard = FakeTranscription([(0.0, 2.5, f"Video at {url}.")], 2.5)
            return self._accept(url, hashlib.sha256(url.encode()).hexdigest(), heard)
        if method == "GET" and path.startswith(f"{API}/request-status/"):
            return self._status(path.rsplit("/", 1)[-1])
        if method == "GET" and path.startswith("/results/"):
            job = self.jobs.get(path.rsplit("/", 1)[-1].removesuffix(".txt"))
            if job is None or job.heard is None:
                return Reply(404, {"message": "Not found"})
            return Reply(200, self._timed_text(job.heard), {"Content-Type": "text/plain"})
        if method == "GET" and path == f"{API}/balance":
            return Reply(200, {"balance": self.balance})
        if method == "POST" and path == f"{API}/audiofile2txt/price-calculation":
            seconds = float(request.fields.get("duration_seconds") or 0)
            return Reply(200, {"data": {"price": round(seconds / 60 * self.price_per_minute, 4)}})
        return Reply(404, {"message": f"no route {method} {path}"})

    def _accept(self, source: str, digest: str, heard: FakeTranscription) -> Reply:
        request_id = str(uuid.uuid4())
        with self._jobs_lock:
            failed = self.fail_next_jobs > 0
            self.fail_next_jobs -= int(failed)
            seconds = self.job_seconds(heard.duration) if self.job_seconds else None
            self.jobs[request_id] = Job(
                request_id, source, digest, heard, failed=failed, seconds=seconds
            )
        return Reply(200, {"data": {"request_id": request_id}})

    def _status(self, request_id: str) -> Reply:
        with self._jobs_lock:
            job = self.jobs.get(request_id)
            if job is None:
                return Reply(404, {"message": "Request not found."})
            job.polls += 1
            polls = job.polls
        if job.failed:
            return Reply(200, {"data": {"status": "error", "progress": 0, "result": None}})
        if job.seconds is not None:
            elapsed = time.monotonic() - job.submitted
            running = elapsed < job.seconds
            progress = round(100 * elapsed / job.seconds, 1)
        else:
            running = polls < self.polls_until_done
            progress = 100 * polls / self.polls_until_done
        if not self._released.is_set() or running:
            headers = {"Retry-After": self.status_retry_after} if self.status_retry_after else {}
            progress = 10.0 if not self._released.is_set() else progress
            return Reply(
                200,
                {"data": {"status": "processing", "progress": progress, "result": None}},
                headers,
            )
        return Reply(200, {"data": {"status": "done", "progress": 100, **self._result(job)}})

    def _result(self, job: Job) -> dict:
        heard = job.heard
        assert heard is not None
        if self.result_style == "url":
            return {"result": None, "result_url": f"{self.url}/results/{job.request_id}.txt"}
        if self.result_style == "plain":
            return {"result": heard.text, "result_url": None}
        if self.result_style == "json":
            segments = [{"start": s, "end": e, "text": t} for s, e, t in heard.segments]
            return {"result": {"text": heard.text, "segments": segments}, "result_url": None}
        return {"result": self._timed_text(heard), "result_url": None}

    @staticmethod
    def _timed_text(heard: FakeTranscription) -> str:
        return "\n".join(f"[{_clock(s)} -> {_clock(e)}] {t}" for s, e, t in heard.segments)
