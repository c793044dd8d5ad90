"""`bulk-transcribe run --engine openai|deapi` end to end, as a user runs it, against fake
providers on 127.0.0.1; including a crash (kill -9) while DEAPI requests are in flight."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engines.conftest import DEAPI_KEY, OPENAI_KEY
from tests.fakes.base import Reply
from tests.fakes.deapi_server import FakeDeapiServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.samples import SAMPLE_MEDIA, reference_text, word_error_rate

CLI = str(Path(sys.executable).with_name("bulk-transcribe"))
WAIT_SECONDS = 60.0


def cli_env(**variables: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BULK_TRANSCRIBE_", "OPENAI_", "DEAPI_", "GROQ_"))
        or k == "BULK_TRANSCRIBE_RATE_LIMIT_DB"  # the test run's own request budgets
    }
    return {**env, **variables}


def run_cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


def session_folder(out: Path) -> Path:
    (folder,) = (out / "sessions").iterdir()
    return folder


def markdown_texts(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in folder.glob("*.md")}


def assert_every_sample_transcribed(folder: Path, samples: list[Path]) -> None:
    texts = markdown_texts(folder)
    assert len(texts) == len(samples)
    for sample in samples:
        (text,) = [t for name, t in texts.items() if name.startswith(sample.stem.replace("_", "-"))]
        lines = [line for line in text.split("---", 2)[2].splitlines() if line[:1] != "#"]
        # Each paragraph starts with its time, linked to that moment: not part of the speech.
        body = "\n".join(re.sub(r"^\[[^\]]*\]\([^)]*\) ", "", line) for line in lines)
        assert word_error_rate(reference_text(sample), body) == 0
    assert len(list(folder.glob("*.srt"))) == len(samples)


def test_run_with_the_openai_engine_against_a_local_server(tmp_path):
    samples = SAMPLE_MEDIA[:3]
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        result = run_cli(
            [
                "run", *map(str, samples), "--engine", "openai",
                "--api-base", server.base_url, "--out", str(tmp_path / "out"), "-j", "2",
            ],
            tmp_path,
            cli_env(OPENAI_API_KEY=OPENAI_KEY),
        )  # fmt: skip
        requests = server.transcription_requests()
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(requests) == len(samples)
    folder = session_folder(tmp_path / "out")
    assert_every_sample_transcribed(folder, samples)
    srt = next(folder.glob("*.srt")).read_text()
    assert "00:00:00,000 --> " in srt
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["session"]["settings"]["engine"] == "openai"
    assert manifest["session"]["settings"]["api_base"] == server.base_url


def test_run_with_the_deapi_engine_shows_balance_and_price_first(tmp_path):
    samples = SAMPLE_MEDIA[2:4]
    with FakeDeapiServer(api_key=DEAPI_KEY, polls_until_done=1) as server:
        result = run_cli(
            ["run", *map(str, samples), "--engine", "deapi", "--out", str(tmp_path / "out")],
            tmp_path,
            # A long window: every request of the run stays in the budget's count.
            cli_env(
                DEAPI_API_KEY=DEAPI_KEY,
                DEAPI_BASE_URL=server.url,
                BULK_TRANSCRIBE_RATE_WINDOW_SECONDS="3600",
            ),
        )
        counts = server.submission_counts()
        requests = len(server.requests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DEAPI balance: $12.50" in result.stdout
    assert "Estimated DEAPI price for 0.4 audio minutes" in result.stdout
    assert len(counts) == 2 and set(counts.values()) == {1}
    assert_every_sample_transcribed(session_folder(tmp_path / "out"), samples)
    # Balance and price went through the provider's one budget too, like every job request.
    manifest = json.loads((session_folder(tmp_path / "out") / "manifest.json").read_text())
    assert manifest["metrics"]["requests_last_60s"] == requests


def saved_request_ids(database: Path) -> list[str]:
    if not database.exists():
        return []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            rows = connection.execute(
                "SELECT provider_request_id FROM attempts WHERE provider_request_id IS NOT NULL"
            ).fetchall()
    except sqlite3.OperationalError:  # the run has created the file but not yet the tables
        return []
    return [row[0] for row in rows]


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_a_killed_run_resumes_without_submitting_any_request_twice(tmp_path):
    out = tmp_path / "out"
    env = cli_env(DEAPI_API_KEY=DEAPI_KEY, DEAPI_BASE_URL="")
    with FakeDeapiServer(api_key=DEAPI_KEY, polls_until_done=1) as server:
        env["DEAPI_BASE_URL"] = server.url
        server.hold()  # every request stays "processing": the run is mid-flight
        process = subprocess.Popen(
            [
                CLI,
                "run",
                *map(str, SAMPLE_MEDIA),
                "--engine",
                "deapi",
                "--out",
                str(out),
                "-j",
                "3",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: len(saved_request_ids(out / "bulk_transcribe.db")) == 3, "3 ids")
            in_flight = {job.request_id for job in server.submissions()}
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        assert set(saved_request_ids(out / "bulk_transcribe.db")) == in_flight
        polls_before_resume = {rid: server.jobs[rid].polls for rid in in_flight}

        server.release()
        resumed = run_cli(["resume", "latest", "--out", str(out)], tmp_path, env)
        counts = server.submission_counts()
        polled_by_resume = [server.jobs[rid].polls > polls_before_resume[rid] for rid in in_flight]

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(counts) == len(SAMPLE_MEDIA)  # every file submitted...
    assert set(counts.values()) == {1}  # ...exactly once
    assert all(polled_by_resume)  # the resumed run picked up the requests already paid for
    assert_every_sample_transcribed(session_folder(out), SAMPLE_MEDIA)


@pytest.mark.parametrize("engine", ["openai", "deapi"])
def test_a_rejected_key_appears_nowhere_the_user_or_a_log_can_see(tmp_path, engine):
    secret = f"{engine}-wrong-key-SECRET-0123456789"
    out = tmp_path / "out"
    server_class = FakeOpenAIServer if engine == "openai" else FakeDeapiServer
    with server_class(api_key="the-right-key") as server:
        if engine == "openai":
            args = ["--api-base", server.base_url, "--provider", "openai"]
            env = cli_env(OPENAI_API_KEY=secret)
        else:
            args = []
            env = cli_env(DEAPI_API_KEY=secret, DEAPI_BASE_URL=server.url)
        result = run_cli(
            ["run", str(SAMPLE_MEDIA[0]), "--engine", engine, "--out", str(out), *args],
            tmp_path,
            env,
        )
        assert any(r.status == 401 for r in server.requests)
    shown = result.stdout + result.stderr
    assert result.returncode != 0
    assert "rejected the API key" in " ".join(shown.split())
    assert secret not in shown
    for path in out.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_429s_from_a_custom_server_pause_it_are_counted_and_shown(tmp_path):
    samples = SAMPLE_MEDIA[:4]
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        # Retry-After: 1, no preset limit for --api-base. The first lands on the check before
        # the run (GET /models), which says so and lets the run go on; two on uploads.
        server.inject("429", "429", "429")
        result = run_cli(
            [
                "run", *map(str, samples), "--engine", "openai",
                "--api-base", server.base_url, "--out", str(tmp_path / "out"), "-j", "2",
            ],
            tmp_path,
            cli_env(OPENAI_API_KEY=OPENAI_KEY),
        )  # fmt: skip
        statuses = [r.status for r in server.transcription_requests()]
    assert result.returncode == 0, result.stdout + result.stderr
    assert statuses.count(429) == 2 and statuses.count(200) == len(samples)
    # Shown as it happens, with the reason, not only stored.
    assert "rate limit:" in result.stdout and "answered 429 (Retry-After 1 s)" in result.stdout
    manifest = json.loads((session_folder(tmp_path / "out") / "manifest.json").read_text())
    assert manifest["metrics"]["count_429"] == 3  # the provider's budget saw all three


def test_a_year_long_retry_after_ends_the_run_and_says_until_when_to_wait(tmp_path):
    samples = SAMPLE_MEDIA[:2]
    year = str(365 * 24 * 3600)
    budgets = tmp_path / "budgets.sqlite"
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        server.answer_next(  # the check before the run passes; the first upload is refused
            Reply(200, {"object": "list", "data": [{"id": "whisper-1", "object": "model"}]}),
            Reply(429, {"error": {"message": "Come back later"}}, {"Retry-After": year}),
        )
        result = run_cli(
            [
                "run", *map(str, samples), "--engine", "openai",
                "--api-base", server.base_url, "--out", str(tmp_path / "out"),
            ],
            tmp_path,
            cli_env(OPENAI_API_KEY=OPENAI_KEY, BULK_TRANSCRIBE_RATE_LIMIT_DB=str(budgets)),
        )  # fmt: skip
        requests = server.transcription_requests()

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert len(requests) == 1  # the second item was never sent to a provider that said no
    assert "unavailable until" in output and "resume the session after then" in output
    assert "Resume with: bulk-transcribe resume" in output
    with sqlite3.connect(tmp_path / "out" / "bulk_transcribe.db") as db:
        items = db.execute("SELECT status, error_kind, error_message FROM items").fetchall()
        (session_status,) = db.execute("SELECT status FROM sessions").fetchone()
    assert session_status == "stopped"
    failed = [row for row in items if row[0] == "failed"]
    assert len(failed) == 1 and failed[0][1] == "rate_limited"
    assert "unavailable until" in failed[0][2] and "resume after then" in failed[0][2]
    assert [row[0] for row in items if row[0] != "failed"] == ["queued"]
    # The machine-wide budget keeps no pause longer than the setting (5 minutes).
    with sqlite3.connect(budgets) as db:
        (longest,) = db.execute("SELECT MAX(paused_until - last_429) FROM budget_state").fetchone()
    assert 0 < longest <= 300


def test_an_out_of_credit_answer_fails_at_once_and_teaches_the_budget_nothing(tmp_path):
    budgets = tmp_path / "budgets.sqlite"
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        server.answer_next(  # the check before the run passes; the first upload is refused
            Reply(200, {"object": "list", "data": [{"id": "whisper-1", "object": "model"}]}),
            Reply(
                429,
                {
                    "error": {
                        "message": "You exceeded your current quota, please check your "
                        "plan and billing details.",
                        "type": "insufficient_quota",
                        "code": "insufficient_quota",
                    }
                },
            ),
        )
        result = run_cli(
            [
                "run", str(SAMPLE_MEDIA[0]), "--engine", "openai",
                "--api-base", server.base_url, "--out", str(tmp_path / "out"),
            ],
            tmp_path,
            cli_env(OPENAI_API_KEY=OPENAI_KEY, BULK_TRANSCRIBE_RATE_LIMIT_DB=str(budgets)),
        )  # fmt: skip
        requests = server.transcription_requests()

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert len(requests) == 1
    assert "out of credit" in output and "top up the account" in output
    with sqlite3.connect(budgets) as db:
        learned = db.execute(
            "SELECT COUNT(*) FROM budget_state WHERE count_429 > 0 OR learned IS NOT NULL"
            " OR paused_until > 0"
        ).fetchone()
    assert learned == (0,)


def test_a_year_long_retry_after_at_the_check_starts_nothing_and_says_until_when(tmp_path):
    budgets = tmp_path / "budgets.sqlite"
    year = str(365 * 24 * 3600)
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        server.answer_next(
            Reply(429, {"error": {"message": "Come back later"}}, {"Retry-After": year})
        )
        result = run_cli(
            [
                "run", str(SAMPLE_MEDIA[0]), "--engine", "openai",
                "--api-base", server.base_url, "--out", str(tmp_path / "out"),
            ],
            tmp_path,
            cli_env(OPENAI_API_KEY=OPENAI_KEY, BULK_TRANSCRIBE_RATE_LIMIT_DB=str(budgets)),
        )  # fmt: skip
        requests = server.transcription_requests()

    assert result.returncode == 2, result.stdout + result.stderr
    assert "unavailable until" in result.stderr and "start or resume after then" in result.stderr
    assert requests == []  # nothing paid for
    with sqlite3.connect(budgets) as db:
        (longest,) = db.execute("SELECT MAX(paused_until - last_429) FROM budget_state").fetchone()
    assert 0 < longest <= 300


def test_an_endpoint_that_does_not_answer_stops_run_and_resume_before_any_item(tmp_path):
    """Connection refused at the check: every item would fail after its retries, so nothing
    starts; the session is kept for a resume, which checks again first."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    out = tmp_path / "out"
    env = cli_env(OPENAI_API_KEY=OPENAI_KEY)
    files = [str(path) for path in SAMPLE_MEDIA[:2]]
    first = run_cli(
        ["run", *files, "--engine", "openai", "--api-base", dead, "--out", str(out)], tmp_path, env
    )
    assert first.returncode == 75, first.stdout + first.stderr
    assert "nothing was sent" in first.stderr and "bulk-transcribe resume" in first.stderr
    (session_id,) = [p.name for p in (out / "sessions").iterdir()]
    with sqlite3.connect(out / "bulk_transcribe.db") as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM items")]
    assert statuses == ["queued", "queued"]

    again = run_cli(["resume", session_id, "--out", str(out)], tmp_path, env)
    assert again.returncode == 75, again.stdout + again.stderr
    with sqlite3.connect(out / "bulk_transcribe.db") as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM items")]
    assert statuses == ["queued", "queued"]


class RefusingAfterFirstUpload(FakeOpenAIServer):
    """Transcribes one upload, then refuses every request the way a provider does when the
    key is revoked or the account runs dry mid-run."""

    def __init__(self, refusal: Reply, **knobs):
        super().__init__(**knobs)
        self.refusal = refusal
        self.refusing = False

    def route(self, request):
        if self.refusing:
            return self.refusal
        reply = super().route(request)
        self.refusing = request.path.endswith("/audio/transcriptions") and reply.status == 200
        return reply


@pytest.mark.parametrize(
    ("refusal", "kind", "words"),
    [
        (
            Reply(401, {"error": {"message": "Incorrect API key provided: sk-rev***",
                                  "code": "invalid_api_key"}}),
            "auth",
            "rejected the API key",
        ),
        (Reply(403, {"error": {"message": "Your account is not active"}}), "auth", "refused"),
        (Reply(402, {"error": {"message": "Insufficient balance"}}), "quota", "out of credit"),
    ],
)  # fmt: skip
def test_a_key_revoked_or_out_of_credit_mid_run_stops_the_run_with_the_rest_queued(
    tmp_path, refusal, kind, words
):
    """Every item needs the same key: after one refusal the run stops, the rest wait for a
    resume, instead of each item asking (and failing) in turn."""
    samples = SAMPLE_MEDIA[:5]
    with RefusingAfterFirstUpload(refusal) as server:
        result = run_cli(
            [
                "run", *map(str, samples), "--engine", "openai",
                "--api-base", server.base_url, "--out", str(tmp_path / "out"),
            ],
            tmp_path,
            cli_env(OPENAI_API_KEY=OPENAI_KEY),
        )  # fmt: skip
        uploads = [r.status for r in server.transcription_requests()]
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert uploads == [200, refusal.status]
    assert words in output and "the run stopped" in output
    with sqlite3.connect(tmp_path / "out" / "bulk_transcribe.db") as db:
        items = db.execute("SELECT status, error_kind FROM items ORDER BY id").fetchall()
        (session_status,) = db.execute("SELECT status FROM sessions").fetchone()
    assert session_status == "stopped"
    assert sorted(items) == sorted(
        [("done", None), ("failed", kind)] + [("queued", None)] * (len(samples) - 2)
    )


def test_an_api_base_without_v1_stops_the_run_at_the_first_404_and_says_so(tmp_path):
    """Many servers have no model list, so the check before the run cannot tell; the first
    upload's 404 then stops the run instead of every item uploading in turn."""
    samples = SAMPLE_MEDIA[:4]
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        result = run_cli(
            [
                "run", *map(str, samples), "--engine", "openai",
                "--api-base", server.url, "--out", str(tmp_path / "out"),
            ],
            tmp_path,
            cli_env(OPENAI_API_KEY=OPENAI_KEY),
        )  # fmt: skip
        uploads = server.requests_to("/audio/transcriptions")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert len(uploads) == 1
    assert "try the API base with /v1" in output and "the run stopped" in output
    with sqlite3.connect(tmp_path / "out" / "bulk_transcribe.db") as db:
        statuses = sorted(row[0] for row in db.execute("SELECT status FROM items"))
    assert statuses == ["failed"] + ["queued"] * (len(samples) - 1)


class GarblingEveryAnswer(FakeOpenAIServer):
    """A proxy before the provider that cuts every transcription answer short (each one
    transcribed and charged upstream)."""

    def route(self, request):
        reply = super().route(request)
        if request.path.endswith("/audio/transcriptions") and reply.status == 200:
            return Reply(200, b'{"text": "cut off in the mid')
        return reply


def test_answers_garbled_item_after_item_stop_the_run_after_three(tmp_path):
    """Each item is asked for twice (both answers charged); after three items in a row the
    run stops with the rest queued, instead of paying twice for each of 500."""
    samples = SAMPLE_MEDIA[:6]
    with GarblingEveryAnswer(api_key=OPENAI_KEY) as server:
        result = run_cli(
            [
                "run", *map(str, samples), "--engine", "openai", "-j", "1",
                "--api-base", server.base_url, "--out", str(tmp_path / "out"),
            ],
            tmp_path,
            cli_env(OPENAI_API_KEY=OPENAI_KEY),
        )  # fmt: skip
        uploads = len(server.transcription_requests())
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1, output
    assert uploads == 3 * 2
    assert "3 items in a row" in output and "the run stopped" in output
    with sqlite3.connect(tmp_path / "out" / "bulk_transcribe.db") as db:
        statuses = sorted(row[0] for row in db.execute("SELECT status FROM items"))
    assert statuses == ["failed"] * 3 + ["queued"] * 3
