"""Choosing an encoder's auto-count thresholds on the DEV half only: every dev conversation's
and one-voice recording's voice prints are computed once (cached), then each combination of
thresholds clusters them again and is scored (count right, diarization error rate with 0.25 s
of collar each side, one voice found in one-voice recordings).

    .venv/bin/python benchmarks/speaker_thresholds.py [--encoder campplus] [--top 25]
        [--telephone] [--segments [STEP]] [--maps]
    # needs the extra and the corpus, like speakers.py; never reads the held-out half

`--segments` sweeps instead the thresholds of the segmentation path
(engines/overlap_diarization.py): every dev recording's segmentation and local speakers'
CAM++ prints, chunks STEP seconds apart (default its STEP_SECONDS), cached per step.

`--stretches` (with `--segments`): a print per stretch of a local speaker's activity to
label with (overlap_diarization.STRETCHES), the voices still counted from the per-local-
speaker prints; printed from the same cached segmentations (cached in a file of their own).

`--clean` sweeps instead which windows the voices are counted from on the window path
(the probe clean_windows.py): the cached dev window prints with the cached dev segmentations
(those of `--segments 2.5`), each window left out of the count when the share of its frames
where two or more talk is above MIXED, or where nobody talks above SILENT; the count
thresholds stay the encoder's.

`--telephone` sweeps instead on the dev conversations' telephone-band copies (the ones
`speakers.py --telephone` makes, made here too if missing) and the dev one-voice telephone
copies (`tel_*`), their prints computed as the engine computes them for a recording stored
at 8 kHz: speech found at the narrowband VAD threshold (engines/narrowband.py).
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from faster_whisper import decode_audio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clean_windows import counted_windows
from corpus_manifest import audio_path, load_manifest
from speakers import (
    conversations,
    decoded,
    error_seconds,
    hypothesis,
    recording_kind,
    reference,
    telephone_copy,
)

from bulk_transcribe.engines.diarization import (
    COUNT_THRESHOLDS,
    CountThresholds,
    turns_of,
    voice_prints,
)
from bulk_transcribe.engines.narrowband import Band
from bulk_transcribe.engines.overlap_diarization import (
    SEGMENT_COUNT,
    STEP_SECONDS,
    LocalPrints,
    local_prints,
    prints_of_activity,
    turns_of_local,
)
from bulk_transcribe.engines.voice_encoders import ENCODERS, load_voice_encoder

PRINTS = Path.home() / ".cache" / "bulk-transcribe" / "bench-prints"
GRID = {
    "overcluster_distance": (0.35, 0.40, 0.425, 0.45, 0.475, 0.50, 0.55),
    "same_voice_centroids": (0.18, 0.22, 0.26, 0.30, 0.34, 0.38, 0.42),
    "min_cluster_windows": (2, 3, 4, 6),
    "min_cluster_share": (0.02, 0.03, 0.04, 0.06),
}
# Telephone-band prints of two voices lie nearer (on dev at least 0.21 apart, against 0.33
# wideband), so the telephone sweep looks lower.
TELEPHONE_GRID = {
    **GRID,
    "overcluster_distance": (0.30, 0.33, 0.36, 0.39, 0.42, 0.45, 0.47),
    "same_voice_centroids": (0.12, 0.14, 0.16, 0.18, 0.20, 0.22, 0.24),
}


# Local speakers' prints: one per chunk a voice talks in, so a voice has several per 10 s.
SEGMENT_GRID = {
    "overcluster_distance": (0.20, 0.25, 0.30, 0.35, 0.40, 0.45),
    "same_voice_centroids": (0.12, 0.16, 0.20, 0.24, 0.28, 0.32, 0.36),
    "min_cluster_windows": (2, 3, 4),
    "min_cluster_share": (0.0, 0.02),
}


def dev_prints(
    encoder_name: str, telephone: bool = False, step: float | None = None, stretches: bool = False
) -> tuple[list, list]:
    """(conversations, one-voice recordings) of the dev half: (name, group, truth, prints).
    `telephone`: their telephone-band copies, the speech found as the engine finds it in a
    recording stored at their rate (8 kHz). `step`: local speakers' prints of chunks this
    many seconds apart (overlap_diarization.py) instead of windows' prints. Each kind is
    cached in a file of its own. `stretches` (with `step`): a print per stretch, from the
    cached segmentations of the per-local-speaker prints."""
    kind = f"{'-telephone' if telephone else ''}{f'-segments{step:g}' if step else ''}"
    whole = {}
    if step and stretches:
        talks, singles = dev_prints(encoder_name, telephone, step)
        whole = {name: prints for name, _, _, prints in talks + singles}
        kind += "-stretches"
    cache = PRINTS / f"{encoder_name}-dev{kind}.pickle"
    if cache.exists():
        talks, singles = pickle.loads(cache.read_bytes())
        if whole:
            talks = [(n, g, t, with_whole(p, whole[n])) for n, g, t, p in talks]
            singles = [(n, g, t, with_whole(p, whole[n])) for n, g, t, p in singles]
        return talks, singles
    encoder = load_voice_encoder(encoder_name)

    def prints_of(name: str, path: Path) -> object:
        if step and stretches:
            cached = whole[name]
            audio = decoded(path)[0]
            return prints_of_activity(audio, cached.activity, cached.speech, encoder, True)
        if step:
            return local_prints(decoded(path)[0], encoder, step, stretches=False)
        if not telephone:
            return voice_prints(decode_audio(str(path)), encoder)
        audio, stored_rate = decoded(path)
        assert stored_rate == 8000, f"{name}: stored at {stored_rate} Hz"
        return voice_prints(audio, encoder, stored_rate)

    talks = []
    for name, split, group, path in conversations(["dev"]):
        assert split == "dev"
        source = telephone_copy(name, path) if telephone else path
        talks.append((name, group, reference(path.with_suffix(".rttm")), prints_of(name, source)))
        print(f"{'telephone ' if telephone else ''}prints of {name}", flush=True)
    singles = []
    for entry in load_manifest():
        if entry.task != "asr" or entry.split != "dev":
            continue
        # The telephone copies of one-voice recordings are in the corpus already (tel_*);
        # the wideband sweep takes every one-voice recording but AMI's and Common Voice's.
        wanted = (
            entry.name.startswith("tel_")
            if telephone
            else not entry.name.startswith(("ami_", "cv_"))
        )
        if not wanted:
            continue
        prints = prints_of(entry.name, audio_path(entry))
        singles.append((entry.name, recording_kind(entry.name), None, prints))
    PRINTS.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps((talks, singles)))
    return talks, singles


# Shares of a window's frames (two or more talk, nobody talks) above which it is left out of
# the count; 1.0: never.
CLEAN_GRID = {"mixed": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5), "silent": (0.5, 0.75, 1.0)}


def clean_sweep(encoder_name: str, top: int) -> None:
    """The window prints counted from the windows where one person talks, per setting of
    CLEAN_GRID, beside every window counted (the first row)."""
    talks, singles = dev_prints(encoder_name)
    seg_talks, seg_singles = dev_prints(encoder_name, step=2.5)
    segmented = {name: prints for name, _, _, prints in seg_talks + seg_singles}
    thresholds = COUNT_THRESHOLDS[encoder_name][Band.WIDE]

    def masks(mixed: float, silent: float) -> dict:
        return {
            name: counted_windows(
                prints.windows, segmented[name].activity, segmented[name].seconds, mixed, silent
            )
            for name, _, _, prints in talks + singles
            if prints.windows
        }

    results = [(*scored(talks, singles, thresholds), (None, None))]
    for mixed, silent in itertools.product(*CLEAN_GRID.values()):
        counted = masks(mixed, silent)
        results.append((*scored(talks, singles, thresholds, counted), (mixed, silent)))
    names = sorted(results[0][3])
    print(f"{'mixed':>6}{'silent':>7}{'wrong':>6}{'DER c':>7}" + "".join(
        f"{name[:20]:>24}" for name in names
    ))  # fmt: skip
    for wrong, errors, _, groups, (mixed, silent) in (
        results[:1] + sorted(results[1:], key=lambda r: (r[0], r[1]))[:top]
    ):
        label = "every window" if mixed is None else f"{mixed:>6.2f}{silent:>7.2f}"
        line = f"{label:>13}{wrong:>6}{errors * 100:>6.2f}%"
        for name in names:
            files, right, error_s, total = groups[name]
            der = f" {error_s / total * 100:4.1f}%" if total else ""
            line += f"{f'{right:.0f}/{files:.0f}{der}':>24}"
        print(line)
    print("\nwrong counts (constructed DER %), mixed share down, silent share across")
    by = {r[4]: r for r in results[1:]}
    print(f"{'':>6}" + "".join(f"{s:>14.2f}" for s in CLEAN_GRID["silent"]))
    for mixed in CLEAN_GRID["mixed"]:
        print(f"{mixed:>6.2f}" + "".join(
            f"{by[(mixed, s)][0]:>6} ({by[(mixed, s)][1] * 100:4.2f})" for s in CLEAN_GRID["silent"]
        ))  # fmt: skip


def with_whole(stretches: LocalPrints, whole: LocalPrints) -> LocalPrints:
    """Stretches' prints cached before they carried the local speakers' prints (the ones
    the voices are counted from), completed as prints_of_activity completes them, from the
    per-local-speaker prints of the same segmentation (the same frames: the same prints)."""
    if stretches.counting is not None:
        return stretches
    has_stretch = {owner[:2] for owner in stretches.owners}
    kept = [row for row, owner in enumerate(whole.owners) if owner[:2] not in has_stretch]
    return replace(
        stretches,
        owners=stretches.owners + [whole.owners[row] for row in kept],
        embeddings=np.concatenate([stretches.embeddings, whole.embeddings[kept]]),
        counted=np.concatenate([stretches.counted, whole.counted[kept]]),
        counting=whole.embeddings[whole.counted] if whole.counted.any() else whole.embeddings,
    )


def evaluate(
    talks: list, singles: list, thresholds: CountThresholds, counted: dict | None = None
) -> dict[str, list[float]]:
    """Per group: [files, count right, error seconds, speech seconds]. `counted`: per name,
    the windows the voices are counted from (clean_windows.py), None for all."""
    counted = counted or {}
    groups: dict[str, list[float]] = {}
    for name, group, truth, prints in talks:
        found = hypothesis(turns_any(prints, None, thresholds, counted.get(name)))
        errors, total = error_seconds(truth, found)
        right = len(found.labels()) == len(truth.labels())
        sums = groups.setdefault(group, [0, 0, 0.0, 0.0])
        for index, value in enumerate((1, right, errors, total)):
            sums[index] += value
    for name, _, _, prints in singles:
        turns = turns_any(prints, None, thresholds, counted.get(name))
        voices = len({turn.speaker for turn in turns})
        sums = groups.setdefault("one voice", [0, 0, 0.0, 0.0])
        sums[0] += 1
        sums[1] += voices == 1
    return groups


def turns_any(
    prints, speakers: int | None, thresholds: CountThresholds, counted: np.ndarray | None = None
) -> list:
    """Windows' prints (`counted`: the windows the voices are counted from) or local
    speakers' prints, each clustered its own way."""
    if hasattr(prints, "owners"):
        return turns_of_local(prints, speakers, thresholds)
    return turns_of(prints, speakers, thresholds, counted=counted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=ENCODERS, default="campplus")
    parser.add_argument("--top", type=int, default=25, help="print this many best settings")
    parser.add_argument(
        "--telephone", action="store_true", help="the dev half's telephone-band copies instead"
    )
    parser.add_argument(
        "--maps", action="store_true", help="also wrong counts over tree cut x centroid distance"
    )
    parser.add_argument(
        "--segments",
        type=float,
        nargs="?",
        const=STEP_SECONDS,
        help="local speakers' prints (overlap_diarization.py), chunks this many s apart",
    )
    parser.add_argument(
        "--stretches", action="store_true", help="with --segments: a print per stretch"
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="which windows the window path counts voices from (the probe clean_windows.py)",
    )
    args = parser.parse_args()
    if args.clean:
        clean_sweep(args.encoder, args.top)
        return
    talks, singles = dev_prints(args.encoder, args.telephone, args.segments, args.stretches)
    grid = TELEPHONE_GRID if args.telephone else GRID
    current = COUNT_THRESHOLDS[args.encoder][Band.NARROW if args.telephone else Band.WIDE]
    if args.segments:
        grid, current = SEGMENT_GRID, SEGMENT_COUNT
    results = [scored(talks, singles, current)]
    results += [
        scored(talks, singles, CountThresholds(*v)) for v in itertools.product(*grid.values())
    ]
    names = sorted(results[0][3])
    print(f"{'tree':>5}{'same':>6}{'min':>4}{'share':>6}{'wrong':>6}" + "".join(
        f"{name[:20]:>24}" for name in names
    ))  # fmt: skip
    print(row(*results[0], names) + "  (the encoder's thresholds now)")
    best = sorted(results[1:], key=lambda r: (r[0], r[1]))
    for result in best[: args.top]:
        print(row(*result, names))
    if args.maps:
        print_maps(results[1:], grid)


def scored(
    talks: list, singles: list, thresholds: CountThresholds, counted: dict | None = None
) -> tuple:
    """(wrong counts, DER of the constructed groups, thresholds, per-group sums)."""
    groups = evaluate(talks, singles, thresholds, counted)
    wrong = sum(files - right for files, right, _, _ in groups.values())
    constructed = [v for g, v in groups.items() if g != "real meetings (AMI)" and v[3]]
    errors = sum(v[2] for v in constructed) / sum(v[3] for v in constructed)
    return wrong, errors, thresholds, groups


def row(wrong: int, _: float, t: CountThresholds, groups: dict, names: list[str]) -> str:
    line = f"{t.overcluster_distance:>5.2f}{t.same_voice_centroids:>6.2f}"
    line += f"{t.min_cluster_windows:>4}{t.min_cluster_share:>6.2f}{wrong:>6}"
    for name in names:
        files, right, errors, total = groups[name]
        der = f" {errors / total * 100:4.1f}%" if total else ""
        line += f"{f'{right:.0f}/{files:.0f}{der}':>24}"
    return line


def print_maps(results: list, grid: dict) -> None:
    """Per smallest cluster (windows, share): wrong counts, tree cut down, centroid distance
    across, to see where a plateau lies."""
    wrong = {r[2]: r[0] for r in results}
    for windows, share in itertools.product(grid["min_cluster_windows"], grid["min_cluster_share"]):
        print(f"\nsmallest cluster {windows} windows / {share:.0%}: wrong counts")
        print("tree \\ same" + "".join(f"{s:>6.2f}" for s in grid["same_voice_centroids"]))
        for tree in grid["overcluster_distance"]:
            print(f"{tree:>11.3f}" + "".join(
                f"{wrong[CountThresholds(tree, same, windows, share)]:>6}"
                for same in grid["same_voice_centroids"]
            ))  # fmt: skip


if __name__ == "__main__":
    main()
