"""Cost that grows with the work: many media links and many local files in one session.

    .venv/bin/python benchmarks/scale.py [--quick] [--sizes 1000,10000] [--inputs links,files]
                                          [--latencies 0,0.5] [--time-limit S] [--json FILE]

Each run is one session of N items, 10 at a time, through the real Runner, sources, store and
OpenAI-compatible engine, in a child process of its own (so CPU and peak memory are its own):

- links: N different URLs of a 127.0.0.1 media server that serves one tiny valid WAV under
  every path (so every item downloads into the cache, as a batch of podcast episodes would);
- files: N hard links of one tiny WAV (no download at all);

against a fake OpenAI-compatible provider on 127.0.0.1 that answers at once (only our own cost
shows) or after 0.5 s (then 10 at a time cannot beat 20 items/s: the ideal).

Printed per run: items/s in each third of the run (by items finished), CPU ms per item (the
child's user + system time over the run), peak memory of the child, the database's size, and
the wall time and peak memory of `bulk-transcribe status` run on the session while it is
half done. Default N: 1,000 / 10,000 / 100,000; --quick: 1,000 and 10,000. --time-limit stops
a run after that many seconds (the figures are then of the items done by then).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import wave
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402
from tests.fakes.transcripts import FakeTranscription  # noqa: E402

KEY = "benchmark-key-not-a-real-one"
CONCURRENCY = 10
LINKS_PER_FILE = 50_000
CLI = str(Path(sys.executable).with_name("bulk-transcribe"))


def tiny_wav(seconds: float = 1.0, rate: int = 8_000) -> bytes:
    """A valid mono 16-bit WAV of silence: the smallest real audio every stage accepts."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * int(seconds * rate))
    return buffer.getvalue()


def instant_transcriber(filename: str, content: bytes) -> FakeTranscription:
    """What the fake provider hears, without decoding: its cost is not ours."""
    return FakeTranscription([(0.0, 1.0, f"Transcript of {Path(filename).stem}.")], 1.0)


class MediaServer:
    """Serves the same tiny WAV under every path, on 127.0.0.1."""

    def __init__(self, body: bytes):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as real servers: no 40 ms wait for a delayed ACK

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "audio/wav")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- one run, in its own process -----------------------------------------------------------


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _child(config: dict, queue: multiprocessing.Queue) -> None:
    from bulk_transcribe.models import ItemSpec, SourceType
    from bulk_transcribe.runner import Runner, create_session
    from bulk_transcribe.settings import Settings
    from bulk_transcribe.store import Store

    out = Path(config["out"])
    settings = Settings(
        out_dir=out,
        engine="openai",
        provider="custom",
        api_base=config["api_base"],
        openai_api_key=KEY,
        rate_limit_db=out / "budget.sqlite",
        concurrency=CONCURRENCY,
        formats="txt",
        max_retries=3,
    )
    kind = SourceType.HTTP_MEDIA if config["input"] == "links" else SourceType.LOCAL_FILE
    profile = None
    if config.get("profile"):
        profile, threads = _profile_every_thread()
    with Store(settings.database) as store:
        started_setup = time.perf_counter()
        specs = [ItemSpec(source=s, source_type=kind) for s in config["sources"]]
        session = create_session(store, settings, specs)
        setup = time.perf_counter() - started_setup
        runner = Runner(store, session.id, settings)
        runner.warm_up()
        limit = threading.Timer(config["time_limit"] or 1e9, runner.request_stop)
        limit.daemon = True
        if config["time_limit"]:
            limit.start()
        cpu_before = os.times()
        started_wall, started = time.time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        counts = runner.run()
        limit.cancel()
        if profile is not None:
            profile.disable()
        wall = time.perf_counter() - started
        cpu_after = os.times()
        if profile is not None:  # not counted: writing 10,000 threads' profiles takes a while
            _dump_profiles(Path(config["profile"]), profile, threads)
        finished = [
            _epoch(row[0])
            for row in store._query(
                "SELECT finished_at FROM items WHERE session_id = ? AND status = 'done'"
                " ORDER BY finished_at",
                (session.id,),
            )
        ]
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    done = len(finished)
    thirds = []
    marks = [started_wall] + [finished[min(done, done * k // 3) - 1] for k in (1, 2, 3)]
    for k in range(3):
        items = done * (k + 1) // 3 - done * k // 3
        span = marks[k + 1] - marks[k]
        thirds.append(items / span if span > 0 else 0.0)
    database = sum(p.stat().st_size for p in out.glob(settings.database.name + "*"))
    queue.put(
        {
            "setup_s": setup,
            "wall_s": wall,
            "done": counts.done,
            "failed": counts.failed,
            "items_per_s": done / wall if wall else 0.0,
            "thirds": thirds,
            "cpu_ms_per_item": 1000 * cpu / max(1, done),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "db_mb": database / 1024**2,
        }
    )


def _profile_every_thread():
    """A profile of the coordinator, and one for each thread started from now on, in each
    thread's CPU time (waits for the GIL, the disk or the network do not count; cProfile
    sees only its own thread; the workers download and call the provider)."""
    import cProfile

    threads: list[tuple[str, cProfile.Profile]] = []
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile(time.thread_time)
        threads.append((self.name, profile))
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    return cProfile.Profile(time.thread_time), threads


def _dump_profiles(path: Path, coordinator, threads) -> None:
    """Three files: every thread (`path`), the coordinator alone (`.coordinator.prof`: the
    one thread that writes the store, which bounds an instant run) and the item workers
    (`.workers.prof`: the threads named item-N)."""
    import pstats

    path.parent.mkdir(parents=True, exist_ok=True)
    everything = pstats.Stats(coordinator)
    workers = None
    for name, profile in threads:
        everything.add(profile)
        if name.startswith("item-"):
            if workers is None:
                workers = pstats.Stats(profile)
            else:
                workers.add(profile)
    everything.dump_stats(path)
    pstats.Stats(coordinator).dump_stats(path.with_suffix(".coordinator.prof"))
    if workers is not None:
        workers.dump_stats(path.with_suffix(".workers.prof"))


def _done_so_far(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM items WHERE status = 'done'").fetchone()[0]
    except sqlite3.Error:
        return 0


# Runs the command from a small process of its own: a child forked from this one would be
# charged this process's memory (the servers, the sources) as its peak.
_MEASURE_COMMAND = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(time.perf_counter() - started, peak_kb, code)
"""


def _time_status(out: Path) -> dict:
    """`bulk-transcribe status latest` on the running session: wall time and peak memory."""
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE_COMMAND, CLI, "status", "latest", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    wall, peak_kb, code = measured.stdout.split()
    return {
        "status_s": float(wall),
        "status_peak_mb": int(peak_kb) / 1024,
        "status_exit": int(code),
    }


def run_one(config: dict) -> dict:
    """One session in a child process; `status` timed from here once it is half done."""
    out = Path(config["out"])
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(config, queue))
    process.start()
    half = len(config["sources"]) // 2
    status: dict = {}
    started = time.monotonic()
    next_poll = started + 1.0
    # Half the items done, or half the time limit gone (a slow run may never reach half).
    half_time = started + config["time_limit"] / 2 if config["time_limit"] else float("inf")
    while True:
        try:
            result = queue.get(timeout=0.5)
            break
        except Empty:
            if not process.is_alive():
                raise SystemExit(f"benchmark child crashed (exit {process.exitcode})") from None
        if not status and time.monotonic() >= next_poll:
            next_poll = time.monotonic() + 2.0
            done = _done_so_far(out / "bulk_transcribe.db")
            if done >= half or (done and time.monotonic() >= half_time):
                status = _time_status(out)
    process.join()
    return {**result, **status}


# --- the bookkeeping alone (--bookkeeping): per-call costs against the size ---------------


def _per_call_ms(call, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        call()
    return 1000 * (time.perf_counter() - started) / repeat


def bookkeeping(sizes: list[int]) -> list[dict]:
    """What one download's cache bookkeeping, one progress read and one permit cost, with
    N files already cached and N items in the session: the parts a run repeats per item."""
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-bookkeeping-") as temp:
            row = {"n": n, **_cache_costs(Path(temp), n), **_store_costs(Path(temp), n)}
            row["permit_ms"] = _permit_cost(Path(temp))
        rows.append(row)
        print(
            f"N={n:>7}: cache.added {row['cache_added_ms']:7.2f} ms; "
            f"counts {row['counts_ms']:6.2f} ms; "
            f"finished_since {row['finished_since_ms']:6.2f} ms; "
            f"items_marker {row['items_marker_ms']:6.2f} ms; "
            f"monitor refresh {row['monitor_refresh_ms']:7.2f} ms; "
            f"one permit {row['permit_ms']:5.2f} ms; status {row['status_work_ms']:7.1f} ms",
            flush=True,
        )
    return rows


def _cache_costs(root: Path, n: int) -> dict:
    from bulk_transcribe.sources.cache import DownloadCache

    cache = DownloadCache(root / "cache", max_bytes=5 * 1024**3)
    folder = root / "cache" / "http"
    folder.mkdir(parents=True)
    for index in range(n):
        (folder / f"{index:07d}.wav").write_bytes(b"\1" * 64)
    fresh = iter(range(10**6))

    def add_one() -> None:
        path = folder / f"new-{next(fresh)}.wav"
        path.write_bytes(b"\1" * 64)
        cache.added(path)

    add_one()  # a ledger, where there is one, is built from the walk once
    return {"cache_added_ms": _per_call_ms(add_one, 20)}


def _store_costs(root: Path, n: int) -> dict:
    from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType, Stage
    from bulk_transcribe.store import Store

    with Store(root / "db.sqlite") as store:
        session = store.create_session(root, {})
        sources = [f"/m/{i}.wav" for i in range(n)]
        store.add_items(
            session.id,
            [ItemSpec(s, SourceType.LOCAL_FILE) for s in sources],
            durations=dict.fromkeys(sources, 10.0),
        )
        with store._transaction() as conn:  # the first half finished, one after the other
            conn.execute(
                "UPDATE items SET status = ?, finished_at = printf('2026-01-01T%09d', position)"
                " WHERE session_id = ? AND position <= ?",
                (ItemStatus.DONE, session.id, n // 2),
            )
        since = f"2026-01-01T{n // 2:09d}"  # a view that has seen all but the latest
        status_ms = _status_work_ms(root, store.path, session.id)
        _, last_id, revisions = store.items_marker(session.id)
        store.set_stage(store.first_items(session.id, ItemStatus.QUEUED, 1)[0].id, Stage.FETCHING)
        # The web monitor's refresh after one change: what changed since its last look (an
        # index range), or, before items.changed, every item's revision.
        if hasattr(store, "items_changed_since"):
            refresh = lambda: store.items_changed_since(session.id, revisions, last_id)  # noqa: E731
        else:
            refresh = lambda: store.item_versions(session.id)  # noqa: E731
        return {
            "monitor_refresh_ms": _per_call_ms(refresh, 20),
            "status_work_ms": status_ms,
            "counts_ms": _per_call_ms(lambda: store.counts(session.id), 20),
            "finished_since_ms": _per_call_ms(lambda: store.finished_since(session.id, since), 20),
            "items_marker_ms": _per_call_ms(lambda: store.items_marker(session.id), 20),
        }


def _status_work_ms(root: Path, database: Path, session_id: str) -> float:
    """`bulk-transcribe status` in this process, its imports done first: its own work."""
    from rich.console import Console

    from bulk_transcribe.cli import main as cli
    from bulk_transcribe.cli import reports

    cli.console = reports.console = Console(file=io.StringIO(), width=120)
    cli.status(session_id, out=root, db=database, all_items=False)  # imports what it needs
    return _per_call_ms(lambda: cli.status(session_id, out=root, db=database), 3)


def _permit_cost(root: Path) -> float:
    from bulk_transcribe.runner.ratelimit import BudgetPolicy, machine_backend

    budget = machine_backend(root / "b.sqlite", "p@1", "p", BudgetPolicy(None))
    try:
        return _per_call_ms(budget.acquire, 400)
    finally:
        budget.close()


# --- a link's fetch against a file's, piece by piece (--fetch-costs) ----------------------


def fetch_costs(count: int) -> dict:
    """The CPU of each step a worker takes to fetch one link and one local file, on one
    thread with nothing else running in this process (the media server's threads aside:
    each step is timed in this thread's own CPU time, kernel time included). Steps are
    taken in turns, item by item, so a change in the machine's load weighs on all alike."""
    from bulk_transcribe.media import checked_duration, probe_duration, require_regular_file
    from bulk_transcribe.settings import Settings
    from bulk_transcribe.sources import download

    audio = tiny_wav()
    media = MediaServer(audio)
    spent: dict[str, float] = {}

    def timed(step: str, action, *args):
        started = time.thread_time()
        result = action(*args)
        spent[step] = spent.get(step, 0.0) + time.thread_time() - started
        return result

    def get(url: str) -> None:
        with download.http_client(settings) as client:
            client.get(url)

    def write_and_rename(spare: Path) -> None:
        spare.write_bytes(audio)
        os.replace(spare, spare.with_suffix(""))

    def open_file(path: Path) -> None:
        require_regular_file(path)
        probe_duration(path)

    try:
        with tempfile.TemporaryDirectory(prefix="bench-fetch-") as temp:
            root = Path(temp)
            settings = Settings(out_dir=root, api_base="http://127.0.0.1:9", openai_api_key=KEY)
            cache_dir = root / "cache"
            cache = download.download_cache(cache_dir, settings)
            local = make_sources("files", count, root / "files", media.url, audio)
            get(f"{media.url}/warm-up.wav")  # the connection, opened once
            for index in range(count):
                timed(GET, get, f"{media.url}/bare/{index:06d}.wav")
                link = f"{media.url}/episodes/{index:06d}.wav"
                path = timed(LINK_DOWNLOAD, download.cached_download, link, cache_dir, settings)
                timed(LINK_CHECK, checked_duration, path)
                timed(NEW_FILE, write_and_rename, root / f"spare-{index}.part")
                timed(LEDGER, cache.added, path, len(audio))
                timed(FILE_OPEN, open_file, Path(local[index]))
    finally:
        media.close()
    costs = {step: 1000 * seconds / count for step, seconds in spent.items()}
    costs[LINK_LESS_FILE] = costs[LINK_DOWNLOAD] + costs[LINK_CHECK] - costs[FILE_OPEN]
    for step, ms in costs.items():
        print(f"{step:52s} {ms:6.3f} ms", flush=True)
    return costs


GET = "the GET alone (httpx, 16 KB, a kept connection)"
LINK_DOWNLOAD = "link: cached_download (GET, file, lock, ledger)"
LINK_CHECK = "link: checked_duration (header, 1 s decoded)"
NEW_FILE = "a 16 KB file created, written, renamed"
LEDGER = "the cache ledger's transaction (added)"
FILE_OPEN = "file: require_regular_file, probe_duration"
LINK_LESS_FILE = "a link's fetch less a file's"


# --- the runs ------------------------------------------------------------------------------


def make_sources(kind: str, count: int, folder: Path, media_url: str, audio: bytes) -> list[str]:
    if kind == "links":
        return [f"{media_url}/episodes/{index:06d}.wav" for index in range(count)]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        if index % LINKS_PER_FILE == 0:  # file systems cap the links to one file (ext4: 65,000)
            original = folder / f"original_{index // LINKS_PER_FILE}.wav"
            original.write_bytes(audio)
        path = folder / f"clip_{index:06d}.wav"
        os.link(original, path)
        paths.append(str(path))
    return paths


def describe(row: dict) -> str:
    thirds = " / ".join(f"{rate:.1f}" for rate in row["thirds"])
    ideal = f" ({row['items_per_s'] / 20:.0%} of 20/s)" if row["latency"] else ""
    status = (
        f"{row['status_s']:.2f} s, {row['status_peak_mb']:.0f} MB"
        if "status_s" in row
        else "not timed"
    )
    return (
        f"{row['input']:>5} N={row['n']:>6} latency {row['latency']:.1f} s: "
        f"session made in {row['setup_s']:.1f} s; "
        f"{row['done']} done in {row['wall_s']:.1f} s = {row['items_per_s']:.1f} items/s{ideal}; "
        f"thirds {thirds}; CPU {row['cpu_ms_per_item']:.1f} ms/item; "
        f"peak {row['peak_rss_mb']:.0f} MB; DB {row['db_mb']:.1f} MB; status {status}; "
        f"servers' CPU {row.get('servers_cpu_ms_per_item', 0):.1f} ms/item"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and 10,000 only")
    parser.add_argument("--sizes", help="comma-separated N, e.g. 1000,10000")
    parser.add_argument("--inputs", default="links,files", help="links, files or both")
    parser.add_argument("--latencies", default="0,0.5", help="provider latencies in seconds")
    parser.add_argument("--time-limit", type=float, default=0.0, help="stop a run after S s")
    parser.add_argument("--profile", type=Path, help="cProfile each run into this folder")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--bookkeeping", action="store_true", help="only the per-call costs against N"
    )
    parser.add_argument(
        "--fetch-costs",
        type=int,
        metavar="COUNT",
        help="only the CPU of each step of fetching COUNT links and COUNT files, one thread",
    )
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    if args.sizes:
        sizes = [int(n) for n in args.sizes.split(",")]
    if args.fetch_costs:
        costs = fetch_costs(args.fetch_costs)
        if args.json:
            args.json.write_text(json.dumps(costs, indent=2))
        return
    if args.bookkeeping:
        rows = bookkeeping(sizes)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return
    inputs = args.inputs.split(",")
    latencies = [float(x) for x in args.latencies.split(",")]
    audio = tiny_wav()
    media = MediaServer(audio)
    rows = []
    try:
        for latency in latencies:
            with FakeOpenAIServer(
                api_key=KEY, latency=latency, transcriber=instant_transcriber
            ) as provider:
                for n in sizes:
                    for kind in inputs:
                        # Cleaning up 100,000 outputs takes minutes: the row is printed
                        # first, and a file another process adds meanwhile loses nothing.
                        with tempfile.TemporaryDirectory(
                            prefix="bench-scale-", ignore_cleanup_errors=True
                        ) as temp:
                            temp_path = Path(temp)
                            sources = make_sources(kind, n, temp_path / "files", media.url, audio)
                            config = {
                                "input": kind,
                                "out": str(temp_path / "out"),
                                "api_base": provider.base_url,
                                "sources": sources,
                                "time_limit": args.time_limit,
                                "profile": str(args.profile / f"{kind}-{n}-{latency:g}.prof")
                                if args.profile
                                else None,
                            }
                            provider.requests.clear()
                            before = os.times()
                            row = {"input": kind, "n": n, "latency": latency, **run_one(config)}
                            after = os.times()
                            # This process serves the media and the provider: not our cost,
                            # but it shares the machine's two cores with the run.
                            servers = (after.user - before.user) + (after.system - before.system)
                            row["servers_cpu_ms_per_item"] = 1000 * servers / max(1, row["done"])
                            rows.append(row)
                            print(describe(row), flush=True)
    finally:
        media.close()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
