"""Speaker labels on a long conversation: the window path's clustering whole and bounded.

    .venv/bin/python benchmarks/long_speakers.py [--minutes 60] [--voices 4] [--split dev]

A CONSTRUCTED conversation of N minutes (speech_corpus.constructed_conversation: turns of 1-3
phrases, 0.2-0.9 s apart, exact turns) of `--voices` LibriSpeech voices drawn from the
ten-minute conversations of one side of the corpus: each voice's phrases are cut from its
true turns there (speech_corpus.phrases), and a long conversation goes through them again and
again, in a new order. Written once into the corpus cache (audio and RTTM), then reused.

Its CAM++ prints are made once (engines/diarization.voice_prints); then they are clustered
whole (no cap) and as the engine does now (past diarization.MAX_CLUSTERED_WINDOWS, the
voices are found in an evenly spread sample), with the count found and given: voices found,
diarization error at a 0.25 s collar each side (speakers.py's scoring), the clustering's CPU
seconds and its peak of traced memory (numpy's and scipy's arrays are traced).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import RATE
from corpus_manifest import CORPUS_CACHE, load_manifest, write_opus
from speakers import error_seconds, hypothesis, reference
from speech_corpus import constructed_conversation, parse_rttm, phrases, rttm_lines

from bulk_transcribe.engines.diarization import (
    MAX_CLUSTERED_WINDOWS,
    count_thresholds,
    turns_of,
    voice_prints,
)
from bulk_transcribe.engines.pcm import as_float, decode_pcm16
from bulk_transcribe.engines.voice_encoders import CAMPPLUS, load_voice_encoder

SEED = 2027
WHOLE = 10**9  # a cap no recording reaches: the clustering as it was


def voices_of_side(split: str) -> dict[str, list[np.ndarray]]:
    """Every voice of the side's ten-minute conversations: its phrases, cut from its turns."""
    voices: dict[str, list[np.ndarray]] = {}
    for entry in load_manifest():
        if entry.task != "speakers" or entry.split != split or "10min" not in entry.name:
            continue
        audio = as_float(decode_pcm16(CORPUS_CACHE / f"{entry.name}.opus").samples)
        rttm = (CORPUS_CACHE / f"{entry.name}.rttm").read_text()
        for start, end, speaker in parse_rttm(rttm):
            turn = audio[int(start * RATE) : int(end * RATE)]
            voices.setdefault(speaker, []).extend(phrases(turn))
    return voices


def long_conversation(split: str, voices: int, minutes: float) -> Path:
    """The conversation's audio in the corpus cache (made the first time), its RTTM beside."""
    name = f"long_conversation_{split}_{voices}spk_{minutes:g}min"
    path = CORPUS_CACHE / f"{name}.opus"
    if path.exists():
        return path
    pool = voices_of_side(split)
    rng = random.Random(SEED)
    chosen = sorted(rng.sample(sorted(pool), voices))
    audio, turns = constructed_conversation(rng, {v: pool[v] for v in chosen}, minutes)
    write_opus(path, audio)
    path.with_suffix(".rttm").write_text(rttm_lines(name, turns))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--voices", type=int, default=4)
    parser.add_argument("--split", choices=("dev", "heldout"), default="dev")
    args = parser.parse_args()
    path = long_conversation(args.split, args.voices, args.minutes)
    truth = reference(path.with_suffix(".rttm"))
    recording = decode_pcm16(path)
    encoder = load_voice_encoder(CAMPPLUS)
    started = time.process_time()
    prints = voice_prints(recording.samples, encoder, recording.stored_rate)
    print(
        f"{path.name}: {len(recording.samples) / RATE / 60:.1f} min, {args.voices} voices, "
        f"{len(prints.windows)} windows (cap {MAX_CLUSTERED_WINDOWS}), prints in "
        f"{time.process_time() - started:.0f} CPU s"
    )
    thresholds = count_thresholds(encoder.name, recording.stored_rate)
    print(f"{'clustering':<22}{'count':>7}{'found':>7}{'DER':>8}{'CPU s':>8}{'traced MB':>11}")
    for label, cap in (("whole (as before)", WHOLE), ("bounded (now)", MAX_CLUSTERED_WINDOWS)):
        for count in (None, args.voices):
            tracemalloc.start()
            started = time.process_time()
            turns = turns_of(prints, count, thresholds, max_windows=cap)
            cpu = time.process_time() - started
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            errors, total = error_seconds(truth, hypothesis(turns))
            found = len({turn.speaker for turn in turns})
            given = "auto" if count is None else str(count)
            print(
                f"{label:<22}{given:>7}{found:>7}{errors / total * 100:>7.2f}%"
                f"{cpu:>8.1f}{peak:>11.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
