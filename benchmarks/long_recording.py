"""One long recording: peak memory, time against length, and no repetition loops.

    .venv/bin/python benchmarks/long_recording.py [--minutes 30,60,120] [--run-options "..."]

The recording is `long_2h.opus` of the benchmark corpus (speech_corpus.py build): every
LibriSpeech utterance the corpus has (351 of 251 speakers), 0.5 s apart, then the shared
recordings, then again from the start until two hours are reached (the second pass repeats
real speech: loops in the output must not come from the input's own repetition, so the
check below looks for runs, not for repeated text far apart). Its first N minutes, for each
N given, go through the CLI (`bulk-transcribe run FILE -f json`) as their own process: wall
and CPU time and peak RSS from rusage. Then, in the JSON's timed segments:

- words per minute in each ten-minute block (a loop or a dropped stretch shows as an outlier);
- the longest run of one n-gram (1-8 words) repeated back to back, and the longest run of
  identical consecutive segments (Whisper's repetition loops look like this).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import sys
import tempfile
from pathlib import Path

from faster_whisper import decode_audio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child import run_in_child
from corpus import RATE, REPO
from corpus_manifest import CORPUS_CACHE, write_opus
from local_asr import run_measured

BLOCK_MINUTES = 10


def longest_repeat_run(words: list[str], max_n: int = 8) -> tuple[int, str]:
    """The most times any n-gram repeats back to back, and that n-gram."""
    best, phrase = 1, ""
    for n in range(1, max_n + 1):
        index = 0
        while index + 2 * n <= len(words):
            run = 1
            while words[index + run * n : index + (run + 1) * n] == words[index : index + n]:
                run += 1
            if run > best:
                best, phrase = run, " ".join(words[index : index + n])
            index += max(1, (run - 1) * n) if run > 1 else 1
    return best, phrase


def identical_segment_run(texts: list[str]) -> int:
    best = run = 1
    for previous, current in itertools.pairwise(texts):
        run = run + 1 if current.strip().lower() == previous.strip().lower() else 1
        best = max(best, run)
    return best


def cut_recording(source: Path, work: Path, lengths: list[float], queue) -> None:
    """The first N minutes of the recording, for each N, as Opus files in `work`."""
    audio = decode_audio(str(source), sampling_rate=RATE)
    for minutes in lengths:
        write_opus(work / f"long_{minutes:g}min.opus", audio[: int(minutes * 60 * RATE)])
    queue.put(True)


def json_output(out: Path) -> Path:
    """The one item's JSON transcript, found through the session's manifest."""
    (manifest_path,) = out.glob("sessions/*/manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    (item,) = manifest["items"]
    (name,) = [o for o in item["outputs"] if o.endswith(".json")]
    return manifest_path.parent / name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="30,60,120", help="lengths to run, comma-separated")
    parser.add_argument(
        "--run-options",
        default="",
        help='more options for each run, e.g. "--speakers auto --speaker-overlap"',
    )
    args = parser.parse_args()
    source = CORPUS_CACHE / "long_2h.opus"
    if not source.exists():
        raise SystemExit(f"{source} is missing: build the corpus first (speech_corpus.py)")
    work = Path(tempfile.mkdtemp(prefix="bench-long-"))
    lengths = [float(m) for m in args.minutes.split(",")]
    # A child's peak RSS (rusage) counts the size of the process it was started from, so
    # the two hours of samples are cut in a process of their own and this one stays small.
    run_in_child(cut_recording, source, work, lengths)
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(the process that starts each run peaked at {parent:.0f} MB: the floor below)")
    ours = [str(REPO / ".venv" / "bin" / "bulk-transcribe"), "run"]
    header = f"{'minutes':>8}{'wall s':>9}{'s / audio min':>15}{'CPU s':>8}{'peak MB':>9}"
    print(header + f"{'words/min per 10 min':>22}{'n-gram run':>30}{'same seg run':>14}")
    for minutes in lengths:
        path = work / f"long_{minutes:g}min.opus"
        out = work / f"out_{minutes:g}"
        command = [*ours, str(path), "-f", "json", "-o", str(out), *args.run_options.split()]
        wall, cpu, peak = run_measured(f"{minutes:g} min", command, dict(os.environ))
        document = json.loads(json_output(out).read_text(encoding="utf-8"))
        segments = document["segments"]
        blocks: dict[int, int] = {}
        for segment in segments:
            block = int(segment["start"] // (BLOCK_MINUTES * 60))
            blocks[block] = blocks.get(block, 0) + len(segment["text"].split())
        full = [count / BLOCK_MINUTES for b, count in blocks.items() if (b + 1) * 10 <= minutes]
        words = [w.strip(".,!?;:\"'").lower() for s in segments for w in s["text"].split()]
        run, phrase = longest_repeat_run(words)
        same = identical_segment_run([s["text"] for s in segments])
        rate = f"{min(full):.0f}-{max(full):.0f}" if full else "-"
        print(
            f"{minutes:>8g}{wall:>9.1f}{wall / minutes:>15.2f}{cpu:>8.0f}{peak:>9.0f}"
            f"{rate:>22}{f'{run} ({phrase[:20]!r})':>30}{same:>14}",
            flush=True,
        )


if __name__ == "__main__":
    main()
