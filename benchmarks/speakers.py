"""Speaker labels: diarization error rate, speaker count and CPU time on conversations with
known turns, dev and held-out side by side.

    .venv/bin/python benchmarks/speakers.py [--split dev|heldout|both] [--per-file]
        [--encoder campplus|resemblyzer|both] [--method windows|segments|clean|both|M,M]
        [--telephone]
        [--auto-only]
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
the same audio, side by side, each with its own auto-count thresholds; CAM++ also through
local speaker segmentation (engines/overlap_diarization.py, column "campplus+seg"), and
through the window path with its voices counted from the windows where the segmentation hears
one person talk (the probe clean_windows.py, column "campplus+clean"; "campplus" is then the
window path with every window counted).

`--telephone` runs instead on telephone-band copies of every conversation (made once, by
corpus_conditions.telephone_band and its G.711 mu-law WAV, into CORPUS_CACHE/telephone/,
DERIVED: no real telephone conversation with true turns was at hand) and on the corpus's
derived one-voice telephone copies (`tel_*`): their speech found as the engine finds it in
a recording stored at 8 kHz (narrowband.py), the same prints counted two ways, side by
side: with the encoder's wideband thresholds ("wide count", as before) and with its
telephone-band ones ("tel count", what `diarize` does now).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from corpus_conditions import telephone_band, write_mulaw_wav
from faster_whisper import decode_audio
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clean_windows import diarize_clean
from corpus_manifest import CORPUS_CACHE, SPEECH, audio_path, load_manifest

from bulk_transcribe.engines.diarization import (
    RATE,
    Turn,
    count_thresholds,
    diarize,
    turns_of,
    voice_prints,
)
from bulk_transcribe.engines.overlap_diarization import diarize_overlapping
from bulk_transcribe.engines.pcm import as_float, decode_pcm16
from bulk_transcribe.engines.speaker_turns import uses_segmentation
from bulk_transcribe.engines.voice_encoders import (
    CAMPPLUS,
    ENCODERS,
    VoiceEncoder,
    load_voice_encoder,
)

SHARED_MIXES = SPEECH / "speakers"
TELEPHONE = CORPUS_CACHE / "telephone"
FOUR_READERS = Path(__file__).resolve().parents[1] / "tests/data/speakers/four_readers.opus"
WINDOWS, SEGMENTS, CLEAN = "windows", "segments", "clean"
SUFFIX = {WINDOWS: "", SEGMENTS: "+seg", CLEAN: "+clean"}


class Column:
    """One way of diarizing, a column of the tables: an encoder and a method (the window
    path with every window counted, the same with the voices counted from the windows where
    one person talks (clean_windows.py), or CAM++ on local speakers of the segmentation
    model: overlap_diarization.py)."""

    def __init__(self, encoder: VoiceEncoder, method: str) -> None:
        self.encoder, self.method = encoder, method
        self.name = encoder.name + SUFFIX[method]

    def diarize(self, audio, count: int | None, stored_rate: int | None) -> list[Turn]:
        if self.method == SEGMENTS and uses_segmentation(self.encoder, stored_rate):
            return diarize_overlapping(audio, count, self.encoder)
        if self.method == CLEAN:
            return diarize_clean(audio, count, self.encoder, stored_rate)
        return diarize(audio, count, self.encoder, stored_rate)


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


def decoded(path: Path) -> tuple[np.ndarray, int | None]:
    """16 kHz float samples and the rate the file is stored at, as the local engine reads
    them (engines/pcm.py)."""
    pcm = decode_pcm16(path)
    return as_float(pcm.samples), pcm.stored_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "heldout", "both"), default="both")
    parser.add_argument("--encoder", choices=(*ENCODERS, "both"), default="both")
    parser.add_argument(
        "--method",
        default="both",
        help="CAM++'s window path (windows), its segmentation path (segments; telephone-band "
        "recordings take the window path either way), the window path counting voices from "
        "windows where one person talks (clean), both (windows,segments), or a comma list",
    )
    parser.add_argument("--per-file", action="store_true", help="print every conversation")
    parser.add_argument(
        "--auto-only", action="store_true", help="only the count found, not the count given"
    )
    parser.add_argument(
        "--telephone",
        action="store_true",
        help="telephone-band copies only, voices counted with the wideband and the "
        "telephone-band thresholds side by side",
    )
    args = parser.parse_args()
    splits = ["dev", "heldout"] if args.split == "both" else [args.split]
    encoders = [load_voice_encoder(name) for name in ENCODERS if args.encoder in (name, "both")]
    wanted = [WINDOWS, SEGMENTS] if args.method == "both" else args.method.split(",")
    if not set(wanted) <= set(SUFFIX):
        parser.error(f"--method: each of {', '.join(SUFFIX)}, or both")
    methods = [m for m in SUFFIX if m in wanted]
    columns = [
        Column(encoder, method)
        for encoder in encoders
        for method in (methods if encoder.name == CAMPPLUS else [WINDOWS])
    ]
    warm_up = decode_audio(str(next(SHARED_MIXES.glob("*.flac"))))[: RATE * 12]
    for column in columns:
        column.diarize(warm_up, None, None)  # the first pass loads models: not counted
    if args.telephone:
        telephone_comparison(splits, encoders, args.per_file)
        return
    totals: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    if args.per_file:
        print(
            f"{'conversation':<30}{'split':<8}{'mode':<7}{'true':>5}"
            + "".join(f"{e.name + ' found':>18}{'DER':>7}" for e in columns)
        )
    for name, split, group, path in conversations(splits):
        truth = reference(path.with_suffix(".rttm"))
        audio, stored_rate = decoded(path)
        minutes = len(audio) / RATE / 60
        modes = (("auto", None), ("given", len(truth.labels())))
        for mode, count in modes[:1] if args.auto_only else modes:
            line = f"{name[:29]:<30}{split:<8}{mode:<7}{len(truth.labels()):>5}"
            for encoder in columns:
                found, errors, total, cpu = score(audio, truth, count, encoder, stored_rate)
                right = len(found.labels()) == len(truth.labels())
                tally(
                    totals,
                    (group, split, mode),
                    encoder.name,
                    (1, right, errors, total, cpu, minutes),
                )
                line += f"{len(found.labels()):>18}{errors / total * 100:>6.1f}%"
            if args.per_file:
                print(line, flush=True)
    print(
        f"\n{'group':<22}{'split':<9}{'mode':<7}{'files':>6}"
        + "".join(f"{e.name + ' right':>18}{'DER ±0.25 s':>13}{'CPU s/min':>11}" for e in columns)
    )
    for (group, split, mode), by_encoder in sorted(totals.items()):
        files = next(iter(by_encoder.values()))[0]
        line = f"{group:<22}{split:<9}{mode:<7}{files:>6.0f}"
        for encoder in columns:
            _, right, errors, total, cpu, minutes = by_encoder[encoder.name]
            line += f"{f'{right:.0f}/{files:.0f}':>18}{errors / total * 100:>12.1f}%"
            line += f"{cpu / minutes:>11.1f}"
        print(line)
    single_speaker_counts(splits, columns)


def score(
    audio, truth: Annotation, count: int | None, column: Column, stored_rate: int | None
) -> tuple[Annotation, float, float, float]:
    """(what was found, error seconds, true speech seconds, CPU seconds) of one diarization."""
    started = time.process_time()
    found = hypothesis(column.diarize(audio, count, stored_rate))
    cpu = time.process_time() - started
    return found, *error_seconds(truth, found), cpu


def error_seconds(truth: Annotation, found: Annotation) -> tuple[float, float]:
    """(error seconds, true speech seconds): DER's parts at a 0.25 s collar each side."""
    detail = DiarizationErrorRate(collar=0.5)(truth, found, detailed=True)
    errors = detail["confusion"] + detail["missed detection"] + detail["false alarm"]
    return errors, detail["total"]


def tally(totals: dict, key: tuple[str, str, str], column: str, values: tuple) -> None:
    """Add one file's `values` to its group's sums in `column`."""
    sums = totals.setdefault(key, {}).setdefault(column, [0.0] * len(values))
    for index, value in enumerate(values):
        sums[index] += value


def single_speaker_counts(splits: list[str], encoders: list[Column]) -> None:
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
        audio, stored_rate = decoded(audio_path(entry))
        line = f"{entry.name[:35]:<36}{entry.split:<9}"
        for encoder in encoders:
            started = time.process_time()
            turns = encoder.diarize(audio, None, stored_rate)
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


def telephone_copy(name: str, source: Path) -> Path:
    """The conversation's telephone-band copy, made once (only ever added to the cache)."""
    copy = TELEPHONE / f"tel_{name}.wav"
    if not copy.exists():
        TELEPHONE.mkdir(parents=True, exist_ok=True)
        write_mulaw_wav(copy, telephone_band(decode_audio(str(source))))
    return copy


def telephone_comparison(splits: list[str], encoders: list[VoiceEncoder], per_file: bool) -> None:
    """Every conversation's telephone copy and every one-voice telephone copy: its prints
    (speech found at the narrowband VAD threshold, as `diarize` finds it) counted with the
    encoder's wideband thresholds ("wide count") and its telephone-band ones ("tel count")."""
    ways = (("wide count", None), ("tel count", "stored"))
    if per_file:
        print(
            f"{'telephone conversation':<30}{'split':<8}{'mode':<7}{'true':>5}"
            + "".join(f"{f'{e.name} {w}':>24}{'DER':>7}" for e in encoders for w, _ in ways)
        )
    totals: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    for name, split, group, path in conversations(splits):
        truth = reference(path.with_suffix(".rttm"))
        audio, stored_rate = decoded(telephone_copy(name, path))
        assert stored_rate == 8000, f"{name}: stored at {stored_rate} Hz"
        prints = {e.name: voice_prints(audio, e, stored_rate) for e in encoders}
        for mode, count in (("auto", None), ("given", len(truth.labels()))):
            line = f"{name[:29]:<30}{split:<8}{mode:<7}{len(truth.labels()):>5}"
            for encoder in encoders:
                for way, rate in ways:
                    thresholds = count_thresholds(encoder.name, stored_rate if rate else None)
                    found = hypothesis(turns_of(prints[encoder.name], count, thresholds))
                    errors, total = error_seconds(truth, found)
                    right = len(found.labels()) == len(truth.labels())
                    column = f"{encoder.name} {way}"
                    tally(totals, (group, split, mode), column, (1, right, errors, total))
                    line += f"{len(found.labels()):>24}{errors / total * 100:>6.1f}%"
            if per_file:
                print(line, flush=True)
    columns = [f"{e.name} {w}" for e in encoders for w, _ in ways]
    print(
        f"\n{'telephone copies of':<22}{'split':<9}{'mode':<7}{'files':>6}"
        + "".join(f"{c + ' right':>26}{'DER':>7}" for c in columns)
    )
    for (group, split, mode), by_column in sorted(totals.items()):
        files = next(iter(by_column.values()))[0]
        line = f"{group:<22}{split:<9}{mode:<7}{files:>6.0f}"
        for column in columns:
            _, right, errors, total = by_column[column]
            line += f"{f'{right:.0f}/{files:.0f}':>26}{errors / total * 100:>6.1f}%"
        print(line)
    one_voice: dict[tuple[str, str], list] = {}
    for entry in load_manifest():
        if entry.task != "asr" or entry.split not in splits or not entry.name.startswith("tel_"):
            continue
        audio, stored_rate = decoded(audio_path(entry))
        for encoder in encoders:
            prints = voice_prints(audio, encoder, stored_rate)
            for way, rate in ways:
                thresholds = count_thresholds(encoder.name, stored_rate if rate else None)
                found = len({t.speaker for t in turns_of(prints, None, thresholds)})
                counts = one_voice.setdefault((entry.split, f"{encoder.name} {way}"), [0, 0, []])
                counts[0] += found == 1
                counts[1] += 1
                if found != 1:
                    counts[2].append(f"{entry.name} ({found})")
    for (split, column), (right, files, wrong) in sorted(one_voice.items()):
        print(
            f"one-voice telephone copies, {split}, {column}: one speaker in {right} of {files}"
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
