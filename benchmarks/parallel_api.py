"""Parallel processing against rate-limited transcription APIs, side by side in one run.

    .venv/bin/python benchmarks/parallel_api.py [--quick] [--json FILE]

Fake providers on 127.0.0.1 (tests/fakes: the documented protocols, latency, a limit per
window enforced with 429 + Retry-After, injected faults) and the real Runner, engines and CLI:

1. OpenAI-compatible, 1 s latency, limit not binding: real 10-20 s speech files of every
   accepted container (wav, mp3, m4a, ogg, flac, mp4, webm, opus) at concurrency 1, 5, 10;
2. DEAPI-shaped (submit, then status polls; jobs of 2-4 s, a fifth of the audio), the limit
   binding at concurrency 10: requests per item, and wall time against the ideal the limit
   allows (items x requests per item / allowance per window);
3. the same with the limit configured 2x too high, against the correctly configured run:
   wall-time ratio, 429s, failed items;
4. a CLI run and a second process (another CLI run) against one DEAPI server: 429s and the
   highest count in any window as the server counts it;
5. 20 % injected faults and a burst of 429s: every item done.

Time is scaled: a 6-second window stands for a 60-second one; the ratios are the same. Every
run happens in its own process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from child import run_in_child  # noqa: E402
from tests.fakes.deapi_server import FakeDeapiServer  # noqa: E402
from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402

SAMPLES = sorted((REPO / "examples" / "media").iterdir())  # 12-16 s of real speech each
WINDOW = 6.0  # seconds standing for the provider's 60-second window
KEY = "benchmark-key-not-a-real-one"
CLI = str(Path(sys.executable).with_name("bulk-transcribe"))


# --- the batch ---------------------------------------------------------------------------


def encode_opus(source: Path, target: Path, container: str) -> Path:
    """`source` as Opus in `container` (ogg for .opus, webm), via PyAV."""
    import av
    import numpy as np
    from faster_whisper import decode_audio

    pcm = (decode_audio(str(source), sampling_rate=48_000) * 32767).astype(np.int16)
    with av.open(str(target), "w", format=container) as out:
        stream = out.add_stream("libopus", rate=48_000, layout="mono")
        stream.bit_rate = 32_000
        for start in range(0, len(pcm), 48_000):
            frame = av.AudioFrame.from_ndarray(
                pcm[start : start + 48_000].reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = 48_000
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


def every_container(folder: Path) -> list[Path]:
    """The bundled samples (wav, mp3, m4a, ogg, flac, mp4) plus opus and webm encodings."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [shutil.copy(p, folder / p.name) for p in SAMPLES]
    files.append(encode_opus(SAMPLES[0], folder / f"{SAMPLES[0].stem}.opus", "ogg"))
    files.append(encode_opus(SAMPLES[1], folder / f"{SAMPLES[1].stem}.webm", "webm"))
    return [Path(f) for f in files]


def make_batch(folder: Path, count: int, kinds: list[Path]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        source = kinds[index % len(kinds)]
        path = folder / f"{source.stem}_{index:03d}{source.suffix}"
        shutil.copy(source, path)
        paths.append(str(path))
    return paths


# --- one run in a child process ------------------------------------------------------------


def _child(config: dict, queue: multiprocessing.Queue) -> None:
    import resource

    from bulk_transcribe.models import ItemSpec, SourceType
    from bulk_transcribe.runner import Runner, create_session
    from bulk_transcribe.settings import Settings
    from bulk_transcribe.store import Store

    out = Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    engine = config["engine"]
    provider = {"api_base": config["api_base"], "provider": "custom", "openai_api_key": KEY}
    if engine == "deapi":
        provider = {"deapi_base_url": config["api_base"], "deapi_api_key": KEY}
    settings = Settings(
        out_dir=out,
        engine=engine,
        rpm=config["rpm"],
        rate_window_seconds=WINDOW,
        quiet_seconds=WINDOW,
        rate_limit_db=Path(config["budget"]),
        concurrency=config["concurrency"],
        formats="md,json",
        max_retries=3,
        **provider,
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
        events = [e.message for e in store.events(session.id) if e.kind == "rate_limit"]
    queue.put(
        {
            "wall": wall,
            "done": counts.done,
            "failed": counts.failed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "fallback": metrics.get("fallback_sequential"),
            "final_concurrency": metrics.get("current_concurrency"),
            "allowance": metrics.get("rate_limit_allowance"),
            "limit_events": events,
        }
    )


def run_batch(budget_folder: Path, **config) -> dict:
    budget = budget_folder / f"budget-{time.monotonic_ns()}.sqlite"
    return run_in_child(_child, {"budget": str(budget), "rpm": None, **config})


def max_in_window(stamps: list[float], window: float) -> int:
    stamps, best, start = sorted(stamps), 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def server_figures(server, items: int) -> dict:
    stamps = [r.at for r in server.requests if r.status != 429]
    return {
        "requests": len(server.requests),
        "requests_per_item": len(server.requests) / items,
        "server_429": server.status_counts.get(429, 0),
        "max_in_window": max_in_window(stamps, WINDOW) if stamps else 0,
    }


def deapi_server(limit: int, seed: int, **knobs) -> FakeDeapiServer:
    jitter = random.Random(seed)
    # Jobs take a fifth of their audio (2-4 s for these 10-20 s files), +-10 %.
    return FakeDeapiServer(
        api_key=KEY,
        rpm=limit,
        window_seconds=WINDOW,
        job_seconds=lambda audio: 0.2 * audio * jitter.uniform(0.9, 1.1),
        **knobs,
    )


# --- the scenarios -------------------------------------------------------------------------


def scenario_speedup(paths: list[str], budgets: Path) -> list[dict]:
    rows = []
    with FakeOpenAIServer(api_key=KEY, latency=1.0) as server:
        for concurrency in (1, 5, 10):
            result = run_batch(
                budgets, engine="openai", api_base=server.base_url, concurrency=concurrency,
                paths=paths,
            )  # fmt: skip
            result["concurrency"] = concurrency
            rows.append(result)
            print(f"  concurrency {concurrency:>2}: {result['wall']:6.2f} s", flush=True)
    for row in rows:
        row["speedup"] = rows[0]["wall"] / row["wall"]
    return rows


def scenario_deapi(paths: list[str], budgets: Path, limit: int, rpm: int, seed: int) -> dict:
    with deapi_server(limit, seed) as server:
        result = run_batch(
            budgets, engine="deapi", api_base=server.url, rpm=rpm, concurrency=10, paths=paths
        )
        result.update(server_figures(server, len(paths)), limit=limit, rpm=rpm)
    allowance = int(limit * 0.95)
    result["ideal"] = len(paths) * result["requests_per_item"] / allowance * WINDOW
    result["vs_ideal"] = result["wall"] / result["ideal"]
    return result


def scenario_two_processes(paths: list[str], budgets: Path, limit: int) -> dict:
    """Two real CLI runs at once, in two processes, against one provider."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BULK_TRANSCRIBE_")},
        "DEAPI_API_KEY": KEY,
        "BULK_TRANSCRIBE_RATE_WINDOW_SECONDS": str(WINDOW),
        "BULK_TRANSCRIBE_QUIET_SECONDS": str(WINDOW),
        "BULK_TRANSCRIBE_RATE_LIMIT_DB": str(budgets / "shared-by-two.sqlite"),
    }
    halves = [paths[0::2], paths[1::2]]
    with deapi_server(limit, seed=3) as server:
        env["DEAPI_BASE_URL"] = server.url
        started = time.perf_counter()
        runs = []
        for n, half in enumerate(halves):
            args = [CLI, "run", *half, "--engine", "deapi", "--rpm", str(limit), "-j", "5",
                    "--out", str(budgets / f"cli-{n}"), "--format", "txt"]  # fmt: skip
            runs.append(
                subprocess.Popen(
                    args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
            )
        outputs = [run.communicate(timeout=900)[0] for run in runs]
        wall = time.perf_counter() - started
        result = server_figures(server, len(paths))
        result.update(
            wall=wall,
            limit=limit,
            exit_codes=[run.returncode for run in runs],
            failed_lines=sum(out.count("FAILED") for out in outputs),
        )
    return result


def scenario_faults(paths: list[str], budgets: Path) -> dict:
    with FakeOpenAIServer(api_key=KEY, latency=0.2, fault_rate=0.2, seed=11) as server:
        server.inject(*["429"] * 6)  # a burst of 429s first
        result = run_batch(
            budgets, engine="openai", api_base=server.base_url, concurrency=5, paths=paths
        )
        result.update(
            faults=sum(n for status, n in server.status_counts.items() if status >= 500)
            + server.status_counts.get(0, 0),
            server_429=server.status_counts.get(429, 0),
            requests=len(server.requests),
        )
    return result


# --- the report ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches, for a smoke run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    budgets = folder / "budgets"
    budgets.mkdir()
    kinds = every_container(folder / "kinds")
    scale = 2 if args.quick else 1

    items = 30 // 3 if args.quick else 30  # whole rounds at concurrency 5 and 10
    names = ", ".join(sorted({p.suffix for p in kinds}))
    print(f"1) OpenAI-compatible, 1 s latency, {items} files ({names}), limit not binding")
    speed = scenario_speedup(make_batch(folder / "speed", items, kinds), budgets)

    limit, binding_items = 30, 80 // scale
    deapi_kinds = [p for p in kinds if p.suffix in (".wav", ".mp3", ".ogg", ".flac", ".opus")]
    print(f"2) DEAPI-shaped, {limit} requests per {WINDOW:.0f} s, {binding_items} items, -j 10")
    binding = scenario_deapi(
        make_batch(folder / "binding", binding_items, deapi_kinds), budgets, limit, limit, 1
    )

    low, mis_items = 15, 40 // scale
    print(f"3) limit {low} per window, configured as {low} and as {2 * low}; {mis_items} items")
    mis_paths = make_batch(folder / "misconfigured", mis_items, deapi_kinds)
    correct = scenario_deapi(mis_paths, budgets, low, low, 2)
    too_high = scenario_deapi(mis_paths, budgets, low, 2 * low, 2)

    two_items = 40 // scale
    print(f"4) two CLI runs at once against one provider ({limit} per window), {two_items} items")
    two = scenario_two_processes(make_batch(folder / "two", two_items, deapi_kinds), budgets, limit)

    fault_items = 30
    print(f"5) 20 % injected faults and a burst of 6 x 429, {fault_items} items")
    faults = scenario_faults(make_batch(folder / "faults", fault_items, kinds), budgets)

    print(f"\n{'concurrency':>11}{'wall s':>9}{'speedup':>9}{'peak MB':>9}")
    for row in speed:
        print(
            f"{row['concurrency']:>11}{row['wall']:>9.2f}{row['speedup']:>9.2f}"
            f"{row['peak_rss_mb']:>9.0f}"
        )
    print(
        f"\nDEAPI-shaped, limit binding: {binding['requests_per_item']:.2f} requests per item "
        f"(goal <= 2.3); wall {binding['wall']:.1f} s against the ideal {binding['ideal']:.1f} s "
        f"= {binding['vs_ideal']:.2f}x (goal <= 1.15); highest count in any window "
        f"{binding['max_in_window']}/{limit}; 429s {binding['server_429']}; "
        f"{binding['done']}/{binding_items} done"
    )
    ratio = too_high["wall"] / correct["wall"]
    print(
        f"limit configured 2x too high: wall {too_high['wall']:.1f} s against "
        f"{correct['wall']:.1f} s correctly configured = {ratio:.2f}x (goal <= 1.2); "
        f"429s {too_high['server_429']} (goal <= 3; correct run: {correct['server_429']}); "
        f"failed {too_high['failed']} (goal 0); learned allowance {too_high['allowance']}; "
        f"final concurrency {too_high['final_concurrency']}"
    )
    for message in too_high["limit_events"]:
        print(f"    event: {message}")
    print(
        f"two CLI processes, one provider: 429s {two['server_429']} (goal 0); highest count in "
        f"any {WINDOW:.0f} s window {two['max_in_window']}/{limit} "
        f"({two['max_in_window'] / limit:.0%}, goal <= 95 %); exit codes {two['exit_codes']}; "
        f"{two['requests_per_item']:.2f} requests per item"
    )
    print(
        f"faults: {faults['faults']} injected faults and {faults['server_429']} x 429 in "
        f"{faults['requests']} requests; {faults['done']}/{fault_items} done, "
        f"{faults['failed']} failed"
    )
    if args.json:
        figures = {"speed": speed, "binding": binding, "correct": correct,
                   "too_high": too_high, "two_processes": two, "faults": faults}  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
