"""Speaker labels: diarization error rate, speaker count and CPU time on conversations with
known turns, dev and held-out side by side.

    .venv/bin/python benchmarks/speakers.py [--split dev|heldout|both] [--per-file]
    # needs the extra (pip install -e '.[speakers]') and the corpus (speech_corpus.py build)

Conversations (benchmarks/corpus/manifest.tsv, task "speakers"): real AMI meeting excerpts
(30 s, 2-4 speakers, overlapping speech, human RTTM), pyannote's real two-speaker sample,
CONSTRUCTED conversations of 2-5 LibriSpeech voices (exact turns, no overlap; two minutes,
and one of each count ten minutes long), the two
shared two-speaker mixes and the tests' four readers (constructed from the shared recordings;
dev: they were tuned on before). Our diarization
(engines/diarization.py) runs with the count found automatically and with it given; each
result is scored with pyannote.metrics' diarization error rate with 0.25 s of collar on each
side of every true boundary (pyannote's `collar=0.5`, the total width). Then `auto` counts
the voices in every one-voice recording with a reference (it should find one). CPU seconds
are per minute of audio, model load excluded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from faster_whisper import decode_audio
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speech_corpus import SPEECH, audio_path, load_manifest

from bulk_transcribe.engines.diarization import RATE, Turn, diarize

SHARED_MIXES = SPEECH / "speakers"
FOUR_READERS = Path(__file__).resolve().parents[1] / "tests/data/speakers/four_readers.opus"


def reference(rttm: Path) -> Annotation:
    truth = Annotation()
    for line in rttm.read_text().splitlines():
        fields = line.split()
        start, duration, speaker = float(fields[3]), float(fields[4]), fields[7]
        truth[Segment(start, start + duration)] = speaker
    return truth


def hypothesis(turns: list[Turn]) -> Annotation:
    found = Annotation()
    for turn in turns:
        found[Segment(turn.start, turn.end)] = f"Speaker {turn.speaker}"
    return found


def conversations(splits: list[str]) -> list[tuple[str, str, str, Path]]:
    """(name, split, group, audio path) of every conversation of these splits."""
    rows = []
    for entry in load_manifest():
        if entry.task != "speakers" or entry.split not in splits:
            continue
        path = audio_path(entry)
        speakers = len(entry.speakers.split())
        if "min_" in entry.name:
            group = "constructed 10 min"
        elif entry.name.startswith("constructed"):
            group = "constructed 2" if speakers == 2 else "constructed 3-5"
        else:
            group = "real meetings (AMI)" if entry.name.startswith("ami") else "real 2 (pyannote)"
        rows.append((entry.name, entry.split, group, path))
    if "dev" in splits:
        rows += [(p.stem, "dev", "shared mixes 2", p) for p in sorted(SHARED_MIXES.glob("*.flac"))]
        rows.append((FOUR_READERS.stem, "dev", "test's four readers", FOUR_READERS))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "heldout", "both"), default="both")
    parser.add_argument("--per-file", action="store_true", help="print every conversation")
    args = parser.parse_args()
    splits = ["dev", "heldout"] if args.split == "both" else [args.split]
    diarize(decode_audio(str(next(SHARED_MIXES.glob("*.flac"))))[: RATE * 3])  # load the model
    totals: dict[tuple[str, str, str], list[float]] = {}
    if args.per_file:
        print(f"{'conversation':<30}{'split':<8}{'mode':<7}{'found':>6}{'true':>5}{'DER':>8}")
    for name, split, group, path in conversations(splits):
        truth = reference(path.with_suffix(".rttm"))
        audio = decode_audio(str(path))
        minutes = len(audio) / RATE / 60
        for mode, count in (("auto", None), ("given", len(truth.labels()))):
            started = time.process_time()
            found = hypothesis(diarize(audio, count))
            cpu = time.process_time() - started
            detail = DiarizationErrorRate(collar=0.5)(truth, found, detailed=True)
            errors = detail["confusion"] + detail["missed detection"] + detail["false alarm"]
            right = len(found.labels()) == len(truth.labels())
            sums = totals.setdefault((group, split, mode), [0, 0, 0.0, 0.0, 0.0, 0.0])
            for index, value in enumerate((1, right, errors, detail["total"], cpu, minutes)):
                sums[index] += value
            if args.per_file:
                print(
                    f"{name[:29]:<30}{split:<8}{mode:<7}{len(found.labels()):>6}"
                    f"{len(truth.labels()):>5}{detail['diarization error rate'] * 100:>7.1f}%",
                    flush=True,
                )
    print(f"\n{'group':<22}{'split':<9}{'mode':<7}{'files':>6}{'count right':>13}"
          f"{'DER ±0.25 s':>13}{'CPU s/min':>11}")  # fmt: skip
    for (group, split, mode), (files, right, errors, total, cpu, minutes) in sorted(totals.items()):
        print(
            f"{group:<22}{split:<9}{mode:<7}{files:>6.0f}{f'{right:.0f}/{files:.0f}':>13}"
            f"{errors / total * 100:>12.1f}%{cpu / minutes:>11.1f}"
        )
    single_speaker_counts(splits)


def single_speaker_counts(splits: list[str]) -> None:
    """Every one-voice recording with a reference: `auto` should find one speaker. The many
    short LibriSpeech utterances are summed up per split, naming only those counted wrong."""
    print(f"\n{'one-voice recording':<36}{'split':<9}{'found':>6}{'CPU s/min':>11}")
    utterances: dict[str, list[tuple[str, int, float]]] = {}
    for entry in load_manifest():
        if entry.task != "asr" or entry.split not in splits:
            continue
        if entry.name.startswith(("ami_", "cv_")):
            continue  # AMI headsets carry the other voices; Common Voice clips are 2-10 s
        audio = decode_audio(str(audio_path(entry)))
        started = time.process_time()
        turns = diarize(audio, None)
        cpu = (time.process_time() - started) / (len(audio) / RATE / 60)
        found = len({t.speaker for t in turns})
        if entry.name.startswith("ls_"):
            utterances.setdefault(entry.split, []).append((entry.name, found, cpu))
            continue
        print(f"{entry.name[:35]:<36}{entry.split:<9}{found:>6}{cpu:>11.1f}", flush=True)
    for split, rows in sorted(utterances.items()):
        wrong = [f"{name} ({found})" for name, found, _ in rows if found != 1]
        cpus = sorted(cpu for _, _, cpu in rows)
        print(
            f"LibriSpeech utterances, {split}: one speaker in {len(rows) - len(wrong)} of "
            f"{len(rows)}; CPU s/min {cpus[0]:.1f}-{cpus[-1]:.1f}"
            + (f"; counted wrong: {', '.join(wrong)}" if wrong else "")
        )


if __name__ == "__main__":
    main()
