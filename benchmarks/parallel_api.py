"""Parallel processing against a rate-limited OpenAI-compatible server, side by side.

    .venv/bin/python benchmarks/parallel_api.py [--quick]

Starts a fake transcription server on 127.0.0.1 (tests/fakes/openai_server.py: the documented
multipart protocol, configurable latency, an RPM limit enforced with 429 + Retry-After, and
injected faults) and runs the same batch through the real Runner and OpenAI-compatible engine:

1. latency dominating, limit not binding: concurrency 1, 2, 5 and 10; speedup against 1;
2. limit binding: far more demand than the limit allows; the highest request count in any
   sliding window against the limit, the achieved rate, and the 429s the server sent;
3. 20 % injected transient faults: every item must still finish.

Time is scaled (a 6-second window stands for a 60-second one); the ratios are the same.
Each run happens in its own child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from child import run_in_child  # noqa: E402
from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402

SAMPLE = REPO / "examples" / "media" / "02_library_visit.mp3"
WINDOW = 6.0  # seconds standing for the provider's 60-second window


def make_batch(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"episode_{index:03d}.mp3"
        shutil.copy(SAMPLE, path)
        paths.append(str(path))
    return paths


def _child(config: dict, queue: multiprocessing.Queue) -> None:
    import resource

    from bulk_transcribe.models import ItemSpec, SourceType
    from bulk_transcribe.runner import Runner, create_session
    from bulk_transcribe.settings import Settings
    from bulk_transcribe.store import Store

    out = Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    settings = Settings(
        out_dir=out,
        engine="openai",
        provider="custom",
        api_base=config["api_base"],
        rpm=config["rpm"],
        rate_window_seconds=WINDOW,
        quiet_seconds=WINDOW,
        concurrency=config["concurrency"],
        formats="md,json",
        max_retries=3,
    )
    with Store(settings.database) as store:
        specs = [ItemSpec(source=p, source_type=SourceType.LOCAL_FILE) for p in config["paths"]]
        session = create_session(store, settings, specs)
        runner = Runner(store, session.id, settings)
        runner.warm_up()  # importing the SDK is start-up, not batch time
        started = time.perf_counter()
        counts = runner.run()
        wall = time.perf_counter() - started
        metrics = store.metrics(session.id)
    queue.put(
        {
            "wall": wall,
            "done": counts.done,
            "failed": counts.failed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "fallback": metrics.get("fallback_sequential"),
        }
    )


def run_batch(config: dict) -> dict:
    return run_in_child(_child, config)


def max_in_window(stamps: list[float], window: float) -> int:
    stamps, best, start = sorted(stamps), 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def full_window_rate(stamps: list[float], window: float) -> float:
    """Mean requests per window over the whole windows of the run."""
    stamps = sorted(stamps)
    windows = int((stamps[-1] - stamps[0]) // window)
    if windows == 0:
        return float(len(stamps))
    counted = [s for s in stamps if s < stamps[0] + windows * window]
    return len(counted) / windows


def scenario_speedup(paths: list[str], latency: float) -> list[dict]:
    rows = []
    with FakeOpenAIServer(latency=latency) as server:
        for concurrency in (1, 2, 5, 10):
            before = len(server.requests)
            result = run_batch(
                {"api_base": server.base_url, "rpm": 100_000, "concurrency": concurrency,
                 "paths": paths}
            )  # fmt: skip
            result.update(concurrency=concurrency, requests=len(server.requests) - before)
            rows.append(result)
            print(
                f"  concurrency {concurrency:>2}: {result['wall']:6.2f} s, "
                f"{result['done']} done, peak {result['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    base = rows[0]["wall"]
    for row in rows:
        row["speedup"] = base / row["wall"]
    return rows


def scenario_binding(paths: list[str], rpm: int) -> dict:
    with FakeOpenAIServer(latency=0.05, rpm=rpm, window_seconds=WINDOW) as server:
        result = run_batch(
            {"api_base": server.base_url, "rpm": rpm, "concurrency": 10, "paths": paths}
        )
        stamps = [r.at for r in server.requests]
        result.update(
            requests=len(stamps),
            max_in_window=max_in_window(stamps, WINDOW),
            rate_per_window=full_window_rate(stamps, WINDOW),
            server_429=server.status_counts.get(429, 0),
            limit=rpm,
        )
    return result


def scenario_faults(paths: list[str], fault_rate: float) -> dict:
    with FakeOpenAIServer(latency=0.2, fault_rate=fault_rate, seed=11) as server:
        result = run_batch(
            {"api_base": server.base_url, "rpm": 100_000, "concurrency": 5, "paths": paths}
        )
        result.update(
            faults=sum(n for status, n in server.status_counts.items() if status >= 500)
            + sum(1 for r in server.requests if r.status == 0),
            requests=len(server.requests),
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches, for a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-a-real-key")
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))

    items, latency = (10, 1.0) if args.quick else (20, 2.0)
    print(f"1) latency {latency} s per request, limit not binding, {items} items")
    speed = scenario_speedup(make_batch(folder / "speed", items), latency)

    rpm = 60
    binding_items = 3 * 57 if not args.quick else 2 * 57
    print(f"2) limit binding: {rpm} requests per {WINDOW:.0f} s window, {binding_items} items")
    binding = scenario_binding(make_batch(folder / "binding", binding_items), rpm)

    print("3) 20 % injected transient faults (500, 503, dropped connections), 30 items")
    faults = scenario_faults(make_batch(folder / "faults", 30), 0.2)

    print(f"\n{'concurrency':>11}{'wall s':>9}{'speedup':>9}{'peak MB':>9}")
    for row in speed:
        print(
            f"{row['concurrency']:>11}{row['wall']:>9.2f}{row['speedup']:>9.2f}"
            f"{row['peak_rss_mb']:>9.0f}"
        )
    print(
        f"\nlimit binding: highest count in any {WINDOW:.0f} s window "
        f"{binding['max_in_window']}/{rpm} ({binding['max_in_window'] / rpm:.1%}), "
        f"achieved {binding['rate_per_window']:.1f}/{rpm} per window "
        f"({binding['rate_per_window'] / rpm:.1%}), 429s from the server: "
        f"{binding['server_429']}, {binding['done']}/{binding_items} done, "
        f"fell back to sequential: {binding['fallback']}"
    )
    print(
        f"faults: {faults['faults']} injected faults in {faults['requests']} requests; "
        f"{faults['done']}/30 done, {faults['failed']} failed"
    )
    if args.json:
        args.json.write_text(json.dumps({"speed": speed, "binding": binding, "faults": faults},
                                        indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
