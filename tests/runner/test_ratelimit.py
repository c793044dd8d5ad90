"""One budget per provider and key: under 95 % in every window, shared, paused and learning."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bulk_transcribe.engines.base import EngineJob
from bulk_transcribe.engines.openai_api import OpenAICompatibleEngine
from bulk_transcribe.engines.presets import ProviderConfig, resolve_provider
from bulk_transcribe.engines.retries import RetryPolicy
from bulk_transcribe.errors import Cancelled
from bulk_transcribe.models import MediaFile, TranscribeOptions
from bulk_transcribe.net import provider_client
from bulk_transcribe.runner import ratelimit
from bulk_transcribe.runner.ratelimit import (
    HOLD_QUIET_PERIODS,
    BudgetPolicy,
    BudgetState,
    LimitChange,
    LimiterTimeout,
    RateLimitHook,
    machine_backend,
    shared_limiter,
)
from bulk_transcribe.settings import Settings
from tests.fakes.base import Reply
from tests.fakes.openai_server import FakeOpenAIServer
from tests.samples import SAMPLE_MEDIA


def max_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def unique(name: str = "p") -> str:
    return f"{name}@{uuid.uuid4().hex[:10]}"


def hammer(limiter_acquire, seconds: float, workers: int) -> list[float]:
    stamps: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < stop_at:
            limiter_acquire()
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stamps


def test_allows_95_percent_of_the_limit_per_window() -> None:
    assert BudgetPolicy(300).configured == 285
    assert BudgetPolicy(20).configured == 19
    assert BudgetPolicy(1).configured == 1
    assert BudgetPolicy(None).configured is None


def admitted_at(backend) -> list[float]:
    """When the limiter admitted each request, as it recorded them itself (seconds): the
    moments its decisions were made on, not stamps taken later by a busy thread."""
    return [item.timestamp / 1000 for item in backend._bucket.items]


def sqlite_admissions(path: Path, provider_id: str) -> list[float]:
    table = "budget_" + hashlib.sha256(provider_id.encode()).hexdigest()[:16]
    with sqlite3.connect(path) as db:
        rows = db.execute(f"SELECT item_timestamp FROM '{table}'").fetchall()
    return [stamp / 1000 for (stamp,) in rows]


def test_many_workers_never_exceed_the_allowance_in_any_sliding_window(monkeypatch) -> None:
    monkeypatch.setattr(ratelimit, "LEAK_EVERY", 10**9)  # keep every admission for the check
    window = 1.0
    limiter = shared_limiter(unique(), 40, window_seconds=window)  # 38 per window

    stamps = hammer(limiter.acquire, 2.5 * window, workers=8)

    admissions = admitted_at(limiter.backend)
    assert len(admissions) == len(stamps) > 38  # it let work through, window after window
    assert max_in_any_window(admissions, window) <= 38  # the whole window, no slack


def _process_worker(path: str, provider_id: str, seconds: float, queue) -> None:
    ratelimit.LEAK_EVERY = 10**9  # keep every admission for the check
    limiter = shared_limiter(provider_id, 30, window_seconds=1.0, budget_path=Path(path))
    queue.put(hammer(limiter.acquire, seconds, workers=3))


def test_two_processes_share_one_budget_on_the_machine(tmp_path: Path) -> None:
    path, provider_id = str(tmp_path / "budgets.sqlite"), unique()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_process_worker, args=(path, provider_id, 3.0, queue))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    per_process = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)

    stamps = [stamp for stamps in per_process for stamp in stamps]
    assert all(per_process), "both processes got requests through"
    admissions = sqlite_admissions(Path(path), provider_id)
    assert len(admissions) == len(stamps) > 28
    assert max_in_any_window(admissions, 1.0) <= 28  # 95 % of 30, for both together


def _batching_worker(path: str, provider_id: str, seconds: float, queue) -> None:
    limiter = shared_limiter(provider_id, 400, window_seconds=1.0, budget_path=Path(path))
    assert limiter.policy.batch(limiter.policy.configured) > 1  # permits come in batches
    queue.put(hammer(limiter.acquire, seconds, workers=4))


def test_two_processes_taking_permits_in_batches_stay_within_the_allowance(
    tmp_path: Path,
) -> None:
    path, provider_id = str(tmp_path / "budgets.sqlite"), unique()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_batching_worker, args=(path, provider_id, 3.0, queue))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    per_process = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)

    stamps = [stamp for stamps in per_process for stamp in stamps]
    assert all(per_process), "both processes got requests through"
    assert max_in_any_window(stamps, 0.85) <= 380  # 95 % of 400, for both together
    assert len(stamps) > 380


class CountingLock:
    """The budget's cross-process lock, counting how often it is taken."""

    def __init__(self, lock):
        self.lock, self.taken = lock, 0

    def __enter__(self):
        self.taken += 1
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


def test_a_large_budget_takes_the_cross_process_lock_once_per_batch_of_permits(
    tmp_path: Path,
) -> None:
    backend = machine_backend(tmp_path / "b.sqlite", unique(), "p", BudgetPolicy(None))
    counting = backend._lock = CountingLock(backend._lock)
    for _ in range(80):
        backend.acquire()
    assert counting.taken <= 40  # one per request before: 80
    backend.close()


def test_permits_taken_ahead_are_void_after_a_429(tmp_path: Path) -> None:
    backend = machine_backend(tmp_path / "b.sqlite", unique(), "p", BudgetPolicy(None))
    backend.acquire()  # takes a batch: the rest are held for this process
    backend.record_429(time.time(), retry_after=30)
    assert backend.try_acquire(1) > 25  # waits for the pause, held permits or not
    backend.close()


def test_the_same_provider_and_key_get_the_same_limiter_in_one_process(tmp_path: Path) -> None:
    def config(key: str, base: str = "https://api.example") -> ProviderConfig:
        return ProviderConfig("groq", "openai", base, "m", 1, 20, SecretStr(key), "K", True)

    first, again = config("sk-one"), config("sk-one")
    other_key, other_base = config("sk-two"), config("sk-one", "https://other.example")
    budget = tmp_path / "b.sqlite"

    hooks = [RateLimitHook(budget_path=budget) for _ in range(2)]
    limiters = [hook.set_limit(first.provider_id, 20) for hook in hooks]

    assert limiters[0] is limiters[1]
    assert limiters[0] is hooks[1].limiter(again.provider_id)
    assert len({first.provider_id, other_key.provider_id, other_base.provider_id}) == 3
    assert "sk-one" not in first.provider_id and first.provider_id.startswith("groq@")


def test_a_429_pauses_the_provider_for_its_retry_after_and_says_why() -> None:
    limiter = shared_limiter(unique("p"), 600)
    changes: list[LimitChange] = []
    limiter.subscribe(changes.append)
    waits: list[bool] = []

    paused_at = time.monotonic()
    assert limiter.observe(httpx.Response(429, headers={"Retry-After": "1"})) is True
    limiter.acquire(on_wait=waits.append)

    assert time.monotonic() - paused_at >= 1.0
    assert waits == [True, False]
    assert limiter.stats().count_429 == 1
    assert len(changes) == 1 and "429" in changes[0].reason and "1.0 s" in changes[0].reason


def test_a_429_lowers_the_allowance_to_what_the_server_admitted() -> None:
    limiter = shared_limiter(unique("custom"), None, window_seconds=60)  # no known limit
    for _ in range(21):  # the 21st is the one refused
        limiter.acquire()
    changes: list[LimitChange] = []
    limiter.subscribe(changes.append)

    limiter.observe(httpx.Response(429, headers={"Retry-After": "0"}), time.time())

    # The 21st request was refused after 20 were admitted: 95 % of 20 from now on.
    assert limiter.stats().allowed_per_window == 19
    assert changes[0].before is None and changes[0].after == 19
    assert "unlimited → 19" in changes[0].reason
    assert limiter.stats().requests_in_window == 21


def test_rubbish_retry_after_still_pauses_a_short_while() -> None:
    limiter = shared_limiter(unique(), None, window_seconds=6)

    assert limiter.observe(httpx.Response(429, headers={"Retry-After": "soon"})) is True

    stats = limiter.stats()
    assert stats.count_429 == 1 and 0 < stats.paused_seconds <= 0.5


def test_the_allowance_holds_after_a_429_then_climbs_back_slowly() -> None:
    policy = BudgetPolicy(30, window_seconds=6, quiet_seconds=6)
    state = BudgetState()
    policy.on_429(state, "p", now=100.0, admitted=15, retry_after=2)
    assert policy.allowance(state) == 14

    held = [policy.relax(state, "p", 100.0 + 6 * n) for n in range(1, HOLD_QUIET_PERIODS)]
    assert held == [None] * (HOLD_QUIET_PERIODS - 1)

    steps = []
    now = 100.0 + 6 * HOLD_QUIET_PERIODS
    while state.learned is not None:
        change = policy.relax(state, "p", now)
        assert change is None or change.after > change.before
        if change:
            steps.append(change.after)
        now += 3  # half a quiet period: only every other call may climb
    assert steps == [16, 18, 20, 22, 25, 28]  # +10 % a quiet period, then the configured 28
    assert policy.allowance(state) == 28


def test_429s_of_requests_already_in_flight_teach_nothing_more() -> None:
    policy = BudgetPolicy(None, window_seconds=6)
    state = BudgetState()
    policy.on_429(state, "p", now=10.0, admitted=20, retry_after=1, sent_at=9.9)

    burst = [
        policy.on_429(state, "p", now=10.1, admitted=12 - n, retry_after=1, sent_at=9.95)
        for n in range(3)
    ]

    assert [change.after for change in burst] == [19, 19, 19] and state.count_429 == 4


def test_the_allowance_never_drops_below_half_at_once() -> None:
    policy = BudgetPolicy(300)  # 285 allowed
    state = BudgetState()

    change = policy.on_429(state, "p", now=0.0, admitted=40, retry_after=1)

    assert change.after == 142


def test_a_429_on_a_nearly_idle_budget_only_pauses() -> None:
    policy = BudgetPolicy(300)
    state = BudgetState()

    change = policy.on_429(state, "p", now=0.0, admitted=1, retry_after=5)

    assert state.learned is None and change.after == 285 and state.paused_until == 5.0


def test_shared_learning_reaches_another_process_budget(tmp_path: Path) -> None:
    path, provider_id = tmp_path / "b.sqlite", unique()
    # A 10 s window: the burst cap (a tenth of the allowance per tenth of the window) lets
    # the 21 requests through in about 5 s, all still inside one window.
    policy = BudgetPolicy(30, window_seconds=10)
    one = machine_backend(path, provider_id, "p", policy)
    other = machine_backend(path, provider_id, "p", BudgetPolicy(30, window_seconds=10))
    for _ in range(21):  # the 21st is the one refused
        one.acquire()

    one.record_429(time.time(), retry_after=30)

    seen = other.stats()
    assert seen.allowed_per_window == 19 and seen.paused_seconds > 25 and seen.count_429 == 1
    assert seen.requests_in_window == 21
    one.close()
    other.close()


def test_a_wait_for_the_budget_ends_when_the_item_is_cancelled() -> None:
    limiter = shared_limiter(unique(), 600)
    limiter.observe(httpx.Response(429, headers={"Retry-After": "600"}))
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    waits: list[bool] = []

    with pytest.raises(Cancelled):
        limiter.acquire(waits.append, cancel=cancel)

    assert waits == [True, False]  # the item is told it no longer waits


def test_a_wait_for_the_budget_can_time_out() -> None:
    limiter = shared_limiter(unique(), 600)
    limiter.observe(httpx.Response(429, headers={"Retry-After": "600"}))

    with pytest.raises(LimiterTimeout):
        limiter.acquire(timeout=0.1)


def test_exhausted_rate_limit_headers_pause_until_the_reset() -> None:
    limiter = shared_limiter(unique(), 600)
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "800ms"}

    started = time.monotonic()
    assert limiter.observe(httpx.Response(200, headers=headers)) is False
    limiter.acquire()

    assert time.monotonic() - started >= 0.8


def test_every_request_of_a_provider_client_goes_through_the_hook(tmp_path: Path) -> None:
    violations: list[str] = []
    hook = RateLimitHook(
        budget_path=tmp_path / "b.sqlite",
        on_violation=lambda provider, _response, _sent: violations.append(provider),
    )
    provider_id = unique("deapi")
    hook.set_limit(provider_id, 300)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429 if request.url.path == "/busy" else 200)

    with provider_client(
        provider_id, hook, transport=httpx.MockTransport(handler), base_url="http://provider"
    ) as client:
        client.get("/status/1")
        client.get("/status/1")
        client.get("/busy")

    stats = hook.stats()[0]
    assert stats.requests_in_window == 3
    assert stats.count_429 == 1
    assert violations == ["deapi"]
    assert stats.utilisation == pytest.approx(3 / 300)
    assert [c.provider for c in hook.drain_changes()] == ["deapi"]
    assert hook.drain_changes() == []
    hook.close()


def test_a_provider_without_a_preset_limit_is_still_paused_and_counted(tmp_path: Path) -> None:
    hook = RateLimitHook(budget_path=tmp_path / "b.sqlite")
    provider_id = unique("custom")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "30"})

    with provider_client(provider_id, hook, transport=httpx.MockTransport(handler)) as client:
        client.get("http://self-hosted/v1/audio/transcriptions")

    stats = hook.stats()[0]
    assert stats.count_429 == 1 and stats.paused_seconds > 25 and stats.rpm_limit is None


def test_settings_name_the_machine_wide_budget_and_the_providers_limit(tmp_path: Path) -> None:
    settings = Settings(
        engine="deapi",
        deapi_api_key="k-" + uuid.uuid4().hex,
        rate_limit_db=tmp_path / "b.sqlite",
        rpm=30,
    )

    hook = RateLimitHook.for_settings(settings)

    (stats,) = hook.stats()
    assert stats.provider == "deapi" and stats.rpm_limit == 30 and stats.allowed_per_window == 28
    assert hook.budget_path == tmp_path / "b.sqlite"


def test_a_deleted_budget_file_is_created_again_shared_and_starting_at_half(tmp_path: Path):
    path = tmp_path / "budgets" / "rate_limits.sqlite"
    first = machine_backend(path, "deleted@1", "deleted", BudgetPolicy(100))
    for _ in range(5):
        assert first.try_acquire(1) == 0
    for file in path.parent.iterdir():  # a cache cleaner empties the folder mid-run
        file.unlink()
    # Another process starts after the cleaner, then this one sends its next request.
    second = machine_backend(path, "deleted@1", "deleted", BudgetPolicy(100))
    assert first.try_acquire(1) == 0

    seen_by_second = second.stats()
    assert path.exists()
    assert seen_by_second.requests_in_window == 1  # one budget again, in one file
    assert seen_by_second.allowed_per_window == 47  # half of 95: the old window is unknown
    assert first.stats().allowed_per_window == 47
    first.close()
    second.close()


def _answer_with_reset_headers(reset: str) -> Reply:
    body = {"text": "Hello there.", "duration": 2.0, "language": "english",
            "segments": [{"id": 0, "start": 0.0, "end": 2.0, "text": " Hello there."}]}  # fmt: skip
    headers = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": reset}
    return Reply(200, body, headers)


@pytest.mark.parametrize("reset", ["1.2.3s", "soon", "1e999s", "5..s"])
def test_a_paid_answer_with_an_unreadable_reset_header_is_kept(tmp_path: Path, reset: str):
    """The upload was answered (and billed): a reset header the limiter cannot read must not
    turn it into an error, or every item is paid for and then thrown away."""
    with FakeOpenAIServer() as server:
        server.answer_next(_answer_with_reset_headers(reset))
        settings = Settings(engine="openai", api_base=server.base_url, openai_api_key="sk-x")
        hook = RateLimitHook(budget_path=tmp_path / "b.sqlite")
        engine = OpenAICompatibleEngine(
            resolve_provider(settings), hook, retry=RetryPolicy(attempts=1)
        )
        clip = SAMPLE_MEDIA[0]
        transcript = engine.transcribe(
            MediaFile(clip, 3.0), EngineJob(TranscribeOptions(), lambda _: None)
        )
        engine.close()
        uploads = server.transcription_requests()
    assert transcript.text == "Hello there."
    assert len(uploads) == 1


def test_a_reset_given_as_a_timestamp_pauses_until_then_not_for_its_digits() -> None:
    limiter = shared_limiter(unique("stamp"), None)
    at = datetime.now(UTC) + timedelta(seconds=40)
    headers = {"x-ratelimit-remaining-requests": "0",
               "x-ratelimit-reset-requests": at.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
    limiter.observe(httpx.Response(200, headers=headers))
    assert 30 < limiter.stats().paused_seconds <= 41
