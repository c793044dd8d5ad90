"""Decoding variants of the local engine on one half of the corpus, in one process: where the
words go, measured before anything is changed (tune on dev, never on held-out).

    .venv/bin/python benchmarks/asr_variants.py dev '[{}, {"beam": 3}, {"pad": 30}]' [PREFIXES]

PREFIXES (optional, comma-separated) keeps only the recordings whose names start with one of
them, e.g. `tel_,noisy10_,noisy05_` for the derived listening conditions (corpus_conditions.py).

Each variant is a JSON object: "beam" (beam size), "pad" (seconds of padding kept after a
window's speech, window_batches.PADDING_KEPT_SECONDS), "min" (the fewest seconds encoded,
window_batches.MIN_ENCODED_SECONDS), "vad_parameters" and other keyword arguments of
faster-whisper's BatchedInferencePipeline.transcribe; "show" lists files whose text to print.
Prints the WER of the half (Whisper's English normaliser), the wall time (three items at once,
as the CLI's read-ahead does), the four worst files and the WER of each listening condition;
"save" (a file name) writes every file's text there as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faster_whisper
import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus_conditions import condition_of
from corpus_manifest import audio_path, load_manifest, references

from bulk_transcribe.engines import EngineJob, window_batches
from bulk_transcribe.engines.local_whisper import LocalWhisperEngine
from bulk_transcribe.models import MediaFile, TranscribeOptions

PIPELINE_OPTIONS = ("vad_parameters", "temperature", "length_penalty", "repetition_penalty",
                    "no_repeat_ngram_size", "patience", "chunk_length")  # fmt: skip
normalise = EnglishTextNormalizer()
pipeline = faster_whisper.BatchedInferencePipeline
original_transcribe = pipeline.transcribe


def with_options(extra: dict) -> None:
    """The item pipelines' transcribe() with these keyword arguments added."""

    def transcribe(self, audio, **options):
        return original_transcribe(self, audio, **(options | extra))

    pipeline.transcribe = transcribe


def run(variant: dict, entries: list, refs: dict[str, str]) -> None:
    window_batches.PADDING_KEPT_SECONDS = variant.get("pad", 3.0)
    window_batches.MIN_ENCODED_SECONDS = variant.get("min", 12)
    with_options({k: v for k, v in variant.items() if k in PIPELINE_OPTIONS})
    engine = LocalWhisperEngine(beam_size=variant.get("beam", 2))
    options = TranscribeOptions(language="en", word_times=False)

    def one(entry) -> tuple[str, str]:
        job = EngineJob(options=options, on_progress=lambda _: None)
        return entry.name, engine.transcribe(MediaFile(audio_path(entry)), job).text

    started = time.perf_counter()
    with ThreadPoolExecutor(3) as pool:
        texts = dict(pool.map(one, entries))
    wall = time.perf_counter() - started
    engine.close()
    pairs = {n: (normalise(refs[n]), normalise(texts[n])) for n in texts}
    pairs = {n: pair for n, pair in pairs.items() if pair[0].strip()}
    wer = jiwer.wer([r for r, _ in pairs.values()], [h for _, h in pairs.values()])
    worst = sorted(((jiwer.wer(*pair), n) for n, pair in pairs.items()), reverse=True)[:4]
    listing = " | ".join(f"{n[:18]} {w * 100:.1f}" for w, n in worst)
    print(f"{json.dumps(variant)} WER {wer * 100:.2f} %  wall {wall:.1f} s  {listing}", flush=True)
    conditions: dict[str, list[str]] = {}
    for name in pairs:
        conditions.setdefault(condition_of(name), []).append(name)
    for condition, names in sorted(conditions.items()):
        refs_, hyps = [pairs[n][0] for n in names], [pairs[n][1] for n in names]
        print(f"    {condition}: {jiwer.wer(refs_, hyps) * 100:.2f} % ({len(names)} files)")
    if "save" in variant:
        Path(variant["save"]).write_text(json.dumps(texts, indent=1))
    for name in variant.get("show", []):
        print(f"    {name}: {texts.get(name, '')[:300]}")


def main() -> None:
    split, variants = sys.argv[1], json.loads(sys.argv[2])
    refs = references()
    entries = [e for e in load_manifest() if e.task == "asr" and e.split == split]
    if len(sys.argv) > 3:
        entries = [e for e in entries if e.name.startswith(tuple(sys.argv[3].split(",")))]
    for variant in variants:
        run(variant, entries, refs)


if __name__ == "__main__":
    main()
