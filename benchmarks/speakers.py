"""Speaker labels: diarization error rate, speaker count and CPU time on conversations with
known turns, dev and held-out side by side.

    .venv/bin/python benchmarks/speakers.py [--split dev|heldout|both] [--per-file]
        [--encoder campplus|resemblyzer|both]
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
are per minute of audio, model load excluded. Both voice encoders (CAM++, Resemblyzer) run on
the same audio, side by side, each with its own auto-count thresholds.
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
from bulk_transcribe.engines.voice_encoders import ENCODERS, VoiceEncoder, load_voice_encoder

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
    parser.add_argument("--encoder", choices=(*ENCODERS, "both"), default="both")
    parser.add_argument("--per-file", action="store_true", help="print every conversation")
    args = parser.parse_args()
    splits = ["dev", "heldout"] if args.split == "both" else [args.split]
    encoders = [load_voice_encoder(name) for name in ENCODERS if args.encoder in (name, "both")]
    warm_up = decode_audio(str(next(SHARED_MIXES.glob("*.flac"))))[: RATE * 3]
    for encoder in encoders:
        diarize(warm_up, None, encoder)  # the first pass sets torch up: not counted
    totals: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    if args.per_file:
        print(
            f"{'conversation':<30}{'split':<8}{'mode':<7}{'true':>5}"
            + "".join(f"{e.name + ' found':>18}{'DER':>7}" for e in encoders)
        )
    for name, split, group, path in conversations(splits):
        truth = reference(path.with_suffix(".rttm"))
        audio = decode_audio(str(path))
        minutes = len(audio) / RATE / 60
        for mode, count in (("auto", None), ("given", len(truth.labels()))):
            line = f"{name[:29]:<30}{split:<8}{mode:<7}{len(truth.labels()):>5}"
            for encoder in encoders:
                found, errors, total, cpu = score(audio, truth, count, encoder)
                right = len(found.labels()) == len(truth.labels())
                sums = totals.setdefault((group, split, mode), {})
                sums.setdefault(encoder.name, [0, 0, 0.0, 0.0, 0.0, 0.0])
                for index, value in enumerate((1, right, errors, total, cpu, minutes)):
                    sums[encoder.name][index] += value
                line += f"{len(found.labels()):>18}{errors / total * 100:>6.1f}%"
            if args.per_file:
                print(line, flush=True)
    print(
        f"\n{'group':<22}{'split':<9}{'mode':<7}{'files':>6}"
        + "".join(f"{e.name + ' right':>18}{'DER ±0.25 s':>13}{'CPU s/min':>11}" for e in encoders)
    )
    for (group, split, mode), by_encoder in sorted(totals.items()):
        files = next(iter(by_encoder.values()))[0]
        line = f"{group:<22}{split:<9}{mode:<7}{files:>6.0f}"
        for encoder in encoders:
            _, right, errors, total, cpu, minutes = by_encoder[encoder.name]
            line += f"{f'{right:.0f}/{files:.0f}':>18}{errors / total * 100:>12.1f}%"
            line += f"{cpu / minutes:>11.1f}"
        print(line)
    single_speaker_counts(splits, encoders)


def score(
    audio, truth: Annotation, count: int | None, encoder: VoiceEncoder
) -> tuple[Annotation, float, float, float]:
    """(what was found, error seconds, true speech seconds, CPU seconds) of one diarization."""
    started = time.process_time()
    found = hypothesis(diarize(audio, count, encoder))
    cpu = time.process_time() - started
    detail = DiarizationErrorRate(collar=0.5)(truth, found, detailed=True)
    errors = detail["confusion"] + detail["missed detection"] + detail["false alarm"]
    return found, errors, detail["total"], cpu


def single_speaker_counts(splits: list[str], encoders: list[VoiceEncoder]) -> None:
    """Every one-voice recording with a reference: `auto` should find one speaker. The many
    short LibriSpeech utterances are summed up per split, naming only those counted wrong."""
    print(
        f"\n{'one-voice recording':<36}{'split':<9}"
        + "".join(f"{e.name + ' found':>18}{'CPU s/min':>11}" for e in encoders)
    )
    kinds: dict[tuple[str, str, str], list[tuple[str, int, float]]] = {}
    for entry in load_manifest():
        if entry.task != "asr" or entry.split not in splits:
            continue
        if entry.name.startswith(("ami_", "cv_")):
            continue  # AMI headsets carry the other voices; Common Voice clips are 2-10 s
        audio = decode_audio(str(audio_path(entry)))
        line = f"{entry.name[:35]:<36}{entry.split:<9}"
        for encoder in encoders:
            started = time.process_time()
            turns = diarize(audio, None, encoder)
            cpu = (time.process_time() - started) / (len(audio) / RATE / 60)
            found = len({t.speaker for t in turns})
            kind = recording_kind(entry.name)
            kinds.setdefault((kind, entry.split, encoder.name), []).append((entry.name, found, cpu))
            line += f"{found:>18}{cpu:>11.1f}"
        if recording_kind(entry.name) == "named recordings":
            print(line, flush=True)
    for (kind, split, encoder), rows in sorted(kinds.items()):
        wrong = [f"{name} ({found})" for name, found, _ in rows if found != 1]
        cpus = sorted(cpu for _, _, cpu in rows)
        print(
            f"{encoder}, {kind}, {split}: one speaker in "
            f"{len(rows) - len(wrong)} of {len(rows)}; CPU s/min {cpus[0]:.1f}-{cpus[-1]:.1f}"
            + (f"; counted wrong: {', '.join(wrong)}" if wrong else "")
        )


def recording_kind(name: str) -> str:
    if name.startswith("ls_"):
        return "LibriSpeech utterances"
    if name.startswith(("tel_", "noisy")):
        return "derived copies (telephone, noisy)"
    return "named recordings"


if __name__ == "__main__":
    main()
