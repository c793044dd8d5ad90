"""What running on Ray costs against threads, on this machine, side by side.

    .venv/bin/python benchmarks/ray_overhead.py [--quick]

Two workloads, each run once with the thread executor and once with the Ray executor (a local
Ray instance: this machine's CPUs, no dashboard), every run in its own child process:

1. cloud engine: the real OpenAI-compatible engine against a fake server on 127.0.0.1 that
   answers each request after a fixed latency (no rate limit), at concurrency 8;
2. local engine: the real faster-whisper pipeline on the real recordings of ../shared/speech
   (SOURCES.md there), threads at their default (one item at a time, both cores) against
   one speech actor holding both cores.

Start-up (loading the model, importing the SDK, starting Ray and its workers) happens before
the clock starts for both executors; the clock measures the batch. Prints items per second and
Ray's throughput as a fraction of the threads'; the goal is at least 0.85.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from child import run_in_child  # noqa: E402
from corpus import seconds_of_audio  # noqa: E402
from tests.fakes.openai_server import FakeOpenAIServer  # noqa: E402

SAMPLE = REPO / "examples" / "media" / "02_library_visit.mp3"
SPEECH = REPO.parent / "shared" / "speech"  # real recordings; see its SOURCES.md
API_KEY = "sk-bench-not-a-real-key"
GOAL = 0.85


def copies(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"episode_{index:03d}.mp3"
        shutil.copy(SAMPLE, path)
        paths.append(str(path))
    return paths


def _child(config: dict, queue: multiprocessing.Queue) -> None:
    from bulk_transcribe.models import ItemSpec, SourceType
    from bulk_transcribe.runner import Runner, create_session
    from bulk_transcribe.settings import Settings
    from bulk_transcribe.store import Store

    out = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    settings = Settings(out_dir=out, formats="md,json", **config["settings"])
    executor = None
    if config["executor"] == "ray":
        from bulk_transcribe.runner.executors.ray_executor import RayExecutor

        executor = RayExecutor(settings)  # starts Ray, its workers and the speech actors
    with Store(settings.database) as store:
        specs = [ItemSpec(source=p, source_type=SourceType.LOCAL_FILE) for p in config["paths"]]
        session = create_session(store, settings, specs)
        runner = Runner(store, session.id, settings, executor=executor)
        if executor is None:
            runner.warm_up()  # the Ray executor warmed its workers when it started
        started = time.perf_counter()
        counts = runner.run()
        wall = time.perf_counter() - started
    if executor is not None:
        executor.close()
    shutil.rmtree(out, ignore_errors=True)
    queue.put({"wall": wall, "done": counts.done, "failed": counts.failed})


def measure(label: str, config: dict) -> dict:
    result = run_in_child(_child, config)
    result["rate"] = result["done"] / result["wall"]
    print(
        f"  {label:<8} {result['wall']:7.2f} s  {result['rate']:6.2f} items/s  "
        f"{result['done']} done, {result['failed']} failed",
        flush=True,
    )
    return result


def compare(title: str, settings: dict, paths: list[str]) -> float:
    print(title, flush=True)
    threads = measure("threads", {"executor": "threads", "settings": settings, "paths": paths})
    on_ray = measure("ray", {"executor": "ray", "settings": settings, "paths": paths})
    ratio = on_ray["rate"] / threads["rate"]
    verdict = "meets" if ratio >= GOAL else "misses"
    print(f"  Ray throughput / threads: {ratio:.2f} ({verdict} the goal of {GOAL:.2f})\n")
    return ratio


def cloud_workload(work: Path, count: int) -> float:
    with FakeOpenAIServer(latency=1.0, api_key=API_KEY) as server:
        settings = {
            "engine": "openai",
            "api_base": server.base_url,
            "openai_api_key": API_KEY,
            "concurrency": 8,
        }
        return compare(
            f"cloud engine: {count} items, 1 s per request, concurrency 8",
            settings,
            copies(work / "cloud", count),
        )


def real_speech(quick: bool) -> list[Path]:
    names = [line.split("\t", 1)[0] for line in (SPEECH / "refs.tsv").read_text().splitlines()]
    paths = sorted((SPEECH / name for name in names if name), key=lambda p: p.stat().st_size)
    return paths[:4] if quick else paths


def local_workload(quick: bool) -> float:
    speech = real_speech(quick)
    minutes = seconds_of_audio(speech) / 60
    return compare(
        f"local engine: {len(speech)} real recordings, {minutes:.1f} minutes of speech",
        {"engine": "local"},
        [str(p) for p in speech],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches")
    parser.add_argument("--only", choices=("cloud", "local"), help="one workload")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ray-media-"))
    try:
        if args.only != "local":
            cloud_workload(work, 24 if args.quick else 64)
        if args.only != "cloud":
            local_workload(args.quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
