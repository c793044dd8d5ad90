"""Choosing an encoder's auto-count thresholds on the DEV half only: every dev conversation's
and one-voice recording's voice prints are computed once (cached), then each combination of
thresholds clusters them again and is scored (count right, diarization error rate with 0.25 s
of collar each side, one voice found in one-voice recordings).

    .venv/bin/python benchmarks/speaker_thresholds.py [--encoder campplus] [--top 25]
    # needs the extra and the corpus, like speakers.py; never reads the held-out half
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
from pathlib import Path

from faster_whisper import decode_audio
from pyannote.metrics.diarization import DiarizationErrorRate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speakers import conversations, hypothesis, recording_kind, reference
from speech_corpus import audio_path, load_manifest

from bulk_transcribe.engines.diarization import CountThresholds, turns_of, voice_prints
from bulk_transcribe.engines.voice_encoders import ENCODERS, load_voice_encoder

PRINTS = Path.home() / ".cache" / "bulk-transcribe" / "bench-prints"
GRID = {
    "overcluster_distance": (0.35, 0.40, 0.425, 0.45, 0.475, 0.50, 0.55),
    "same_voice_centroids": (0.18, 0.22, 0.26, 0.30, 0.34, 0.38, 0.42),
    "min_cluster_windows": (2, 3, 4, 6),
    "min_cluster_share": (0.02, 0.03, 0.04, 0.06),
}


def dev_prints(encoder_name: str) -> tuple[list, list]:
    """(conversations, one-voice recordings) of the dev half: (name, group, truth, prints)."""
    cache = PRINTS / f"{encoder_name}-dev.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    encoder = load_voice_encoder(encoder_name)
    talks = []
    for name, split, group, path in conversations(["dev"]):
        assert split == "dev"
        prints = voice_prints(decode_audio(str(path)), encoder)
        talks.append((name, group, reference(path.with_suffix(".rttm")), prints))
        print(f"prints of {name}", flush=True)
    singles = []
    for entry in load_manifest():
        if entry.task != "asr" or entry.split != "dev" or entry.name.startswith(("ami_", "cv_")):
            continue
        prints = voice_prints(decode_audio(str(audio_path(entry))), encoder)
        singles.append((entry.name, recording_kind(entry.name), None, prints))
    PRINTS.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps((talks, singles)))
    return talks, singles


def evaluate(talks: list, singles: list, thresholds: CountThresholds) -> dict[str, list[float]]:
    """Per group: [files, count right, error seconds, speech seconds]."""
    groups: dict[str, list[float]] = {}
    for _, group, truth, prints in talks:
        found = hypothesis(turns_of(prints, None, thresholds))
        detail = DiarizationErrorRate(collar=0.5)(truth, found, detailed=True)
        errors = detail["confusion"] + detail["missed detection"] + detail["false alarm"]
        right = len(found.labels()) == len(truth.labels())
        sums = groups.setdefault(group, [0, 0, 0.0, 0.0])
        for index, value in enumerate((1, right, errors, detail["total"])):
            sums[index] += value
    for _, _, _, prints in singles:
        voices = len({turn.speaker for turn in turns_of(prints, None, thresholds)})
        sums = groups.setdefault("one voice", [0, 0, 0.0, 0.0])
        sums[0] += 1
        sums[1] += voices == 1
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=ENCODERS, default="campplus")
    parser.add_argument("--top", type=int, default=25, help="print this many best settings")
    args = parser.parse_args()
    talks, singles = dev_prints(args.encoder)
    results = []
    for values in itertools.product(*GRID.values()):
        thresholds = CountThresholds(*values)
        groups = evaluate(talks, singles, thresholds)
        wrong = sum(files - right for files, right, _, _ in groups.values())
        constructed = [v for g, v in groups.items() if g != "real meetings (AMI)" and v[3]]
        errors = sum(v[2] for v in constructed) / sum(v[3] for v in constructed)
        results.append((wrong, errors, thresholds, groups))
    results.sort(key=lambda r: (r[0], r[1]))
    names = sorted(results[0][3])
    print(f"{'tree':>5}{'same':>6}{'min':>4}{'share':>6}{'wrong':>6}" + "".join(
        f"{name[:20]:>24}" for name in names
    ))  # fmt: skip
    for wrong, _, t, groups in results[: args.top]:
        line = f"{t.overcluster_distance:>5.2f}{t.same_voice_centroids:>6.2f}"
        line += f"{t.min_cluster_windows:>4}{t.min_cluster_share:>6.2f}{wrong:>6}"
        for name in names:
            files, right, errors, total = groups[name]
            der = f" {errors / total * 100:4.1f}%" if total else ""
            line += f"{f'{right:.0f}/{files:.0f}{der}':>24}"
        print(line)


if __name__ == "__main__":
    main()
