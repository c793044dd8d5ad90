"""Listening conditions the corpus lacked: accented read speech (CMU ARCTIC), telephone band
and noisy rooms, for speech_corpus.py.

    .venv/bin/python benchmarks/speech_corpus.py add-conditions --repo OWNER/NAME=GIT_DIR ...

No real telephone call, noisy room or lecture with a reference text under permissive terms
was found in the repositories searched, so two conditions are DERIVED from the corpus's own
real recordings, the way such test sets are commonly made, and labelled "derived" in the
manifest (licence column) and in benchmarks/README.md:

- telephone (`tel_*.wav`): 300-3400 Hz band-pass, 8 kHz, G.711 mu-law WAV (the codec is
  PyAV's `pcm_mulaw`): what a narrow-band call hands a transcriber.
- noisy (`noisy10_*`, `noisy05_*`): the speech plus a real noise recording (someone washing
  dishes: the background noise of Google's Speech Commands, CC BY 4.0, as kept in
  pyroomacoustics' examples) at 10 dB and 5 dB SNR, the speech's power taken over the
  stretches the VAD calls speech. Dev copies take their noise from the first half of the
  recording, held-out copies from the second, so no noise sample is tuned on and measured.

The source recordings were chosen once, by rule, before anything was measured: of each
side's single-speaker recordings of 3-30 s (derived ones aside), DERIVED_PER_SPLIT picked at
random with the corpus's SPLIT_SEED; each gets all three copies, so a condition is compared
with the same words clean. A derived copy keeps its speaker and its side of the split.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
from corpus import RATE, as_pcm, write_audio
from corpus_manifest import (
    FIELDS,
    MANIFEST,
    SPLIT_SEED,
    Entry,
    Sources,
    audio_path,
    check_disjoint,
    decode_bytes,
    load_manifest,
    references,
    split_speakers,
    write_opus,
)
from scipy.signal import butter, resample_poly, sosfilt

PYROOMACOUSTICS = "LCAV/pyroomacoustics"
SAMPLES = "examples/input_samples"
NOISE_PATH = f"{SAMPLES}/doing_the_dishes.wav"
NOISE_LICENCE = "noise: Speech Commands background noise (CC BY 4.0), LCAV/pyroomacoustics"
# CMU ARCTIC's prompt list (the words the readers read), kept in an MIT-licensed repository.
ARCTIC_PROMPTS = "synesthesiam/voice-recorder"
ARCTIC_READERS = {"aew": "us male", "axb": "indian english female"}
DERIVED_PER_SPLIT = {"dev": 20, "heldout": 40}
SNRS = (10, 5)
CONDITIONS_REFS = "refs_conditions.tsv"
DERIVED_PREFIXES = ("tel_", "noisy10_", "noisy05_")


def condition_of(name: str) -> str:
    """A recording's listening condition, from its name."""
    if name.startswith("tel_"):
        return "telephone (derived)"
    if name.startswith("noisy10_"):
        return "noisy 10 dB (derived)"
    if name.startswith("noisy05_"):
        return "noisy 5 dB (derived)"
    return "as recorded"


def arctic_entries(sources: Sources, out: Path) -> list[tuple[Entry, str]]:
    """CMU ARCTIC's six clips in pyroomacoustics' examples (two readers, one a US man, one
    an Indian English woman; CMU ARCTIC's own free licence) with their prompts; the two
    readers halved at random with SPLIT_SEED, like the Common Voice speakers."""
    commit = sources.commit(PYROOMACOUSTICS)
    prompts = {}
    for line in sources.read(ARCTIC_PROMPTS, "cmuarctic.data").decode().splitlines():
        key, _, rest = line.strip().strip("()").strip().partition(" ")
        prompts[key] = rest.strip().strip('"')
    split_of = split_speakers([f"arctic-{r}" for r in ARCTIC_READERS], set())
    made = []
    for path in sources.list(PYROOMACOUSTICS, SAMPLES):
        name = Path(path).name
        if not name.startswith("cmu_arctic_us_"):
            continue
        reader, clip = name.removeprefix("cmu_arctic_us_").removesuffix(".wav").split("_")
        audio = decode_bytes(sources.read(PYROOMACOUSTICS, path), ".wav")
        target = f"arctic_{reader}_{clip}.opus"
        write_opus(out / target, audio)
        speaker = f"arctic-{reader}"
        entry = Entry(
            target,
            "asr",
            split_of[speaker],
            speaker,
            round(len(audio) / RATE, 1),
            PYROOMACOUSTICS,
            commit,
            path,
            f"CMU ARCTIC licence (free use; {ARCTIC_READERS[reader]}); words: "
            f"{ARCTIC_PROMPTS} cmuarctic.data",
        )
        made.append((entry, prompts[f"arctic_{clip}"]))
    return made


def chosen_sources(entries: list[Entry]) -> list[Entry]:
    """The recordings that get derived copies (see the module docstring)."""
    rng = random.Random(SPLIT_SEED)
    chosen = []
    for split, count in DERIVED_PER_SPLIT.items():
        pool = sorted(
            (
                e
                for e in entries
                if e.task == "asr"
                and e.split == split
                and len(e.speakers.split()) == 1
                and 3.0 <= e.seconds <= 30.0
                and not e.name.startswith(DERIVED_PREFIXES)
            ),
            key=lambda e: e.name,
        )
        chosen += rng.sample(pool, min(count, len(pool)))
    return chosen


def telephone_band(audio: np.ndarray) -> np.ndarray:
    """300-3400 Hz (4th-order Butterworth band-pass), then 8 kHz."""
    band = butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos")
    return resample_poly(sosfilt(band, audio), 1, RATE // 8000).astype(np.float32)


def write_mulaw_wav(path: Path, audio: np.ndarray, rate: int = 8000) -> None:
    """G.711 mu-law in a WAV container (PyAV's pcm_mulaw encoder)."""
    write_audio(path, as_pcm(audio), codec="pcm_mulaw", rate=rate)


def speech_power(audio: np.ndarray) -> float:
    """Mean power over what Silero VAD calls speech (the whole clip if it finds none)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    stamps = get_speech_timestamps(audio, VadOptions())
    voiced = np.concatenate([audio[s["start"] : s["end"]] for s in stamps]) if stamps else audio
    return float(np.mean(voiced.astype(np.float64) ** 2))


def with_noise(
    audio: np.ndarray, noise: np.ndarray, snr_db: float, rng: random.Random
) -> np.ndarray:
    """`audio` plus a stretch of `noise` (looped if short) scaled to `snr_db` below it."""
    start = rng.randrange(max(1, len(noise) - len(audio)))
    stretch = np.resize(np.roll(noise, -start), len(audio)).astype(np.float64)
    gain = np.sqrt(speech_power(audio) / (np.mean(stretch**2) * 10 ** (snr_db / 10)))
    mixed = audio + gain * stretch
    peak = np.max(np.abs(mixed))
    return (mixed / peak * 0.95 if peak > 0.95 else mixed).astype(np.float32)


def derived(source: Entry, name: str, seconds: float, how: str) -> Entry:
    """The manifest row of a derived copy: its source's speaker, side and provenance."""
    return Entry(
        name,
        "asr",
        source.split,
        source.speakers,
        seconds,
        source.repo,
        source.commit,
        source.path,
        f"{source.licence}; derived from {source.name}: {how}",
    )


def derived_entries(
    sources: Sources, out: Path, entries: list[Entry], texts: dict[str, str]
) -> list[tuple[Entry, str]]:
    """Telephone and noisy copies of chosen_sources(entries)."""
    from faster_whisper import decode_audio

    commit = sources.commit(PYROOMACOUSTICS)
    noise = decode_bytes(sources.read(PYROOMACOUSTICS, NOISE_PATH), ".wav")
    halves = {"dev": noise[: len(noise) // 2], "heldout": noise[len(noise) // 2 :]}
    rng = random.Random(SPLIT_SEED)
    made = []
    for source in chosen_sources(entries):
        audio = decode_audio(str(audio_path(source, out)), sampling_rate=RATE)
        stem = Path(source.name).stem
        seconds = round(len(audio) / RATE, 1)
        name = f"tel_{stem}.wav"
        write_mulaw_wav(out / name, telephone_band(audio))
        telephone = "300-3400 Hz, 8 kHz, G.711 mu-law"
        made.append((derived(source, name, seconds, telephone), texts[source.name]))
        for snr in SNRS:
            name = f"noisy{snr:02d}_{stem}.opus"
            write_opus(out / name, with_noise(audio, halves[source.split], snr, rng))
            half = "first" if source.split == "dev" else "second"
            licence = f"{snr} dB SNR, {NOISE_LICENCE}@{commit[:10]} {NOISE_PATH} ({half} half)"
            made.append((derived(source, name, seconds, licence), texts[source.name]))
    return made


def add_conditions(sources: Sources, out: Path) -> None:
    """Write this step's recordings (new names only: nothing in `out` is rewritten but
    CONDITIONS_REFS) and append their rows to the manifest, replacing rows of an earlier
    run of this step."""
    entries = [e for e in load_manifest() if not e.name.startswith(("arctic_", *DERIVED_PREFIXES))]
    added = arctic_entries(sources, out)
    texts = references(out) | {e.name: text for e, text in added}
    added += derived_entries(sources, out, entries + [e for e, _ in added], texts)
    with (out / CONDITIONS_REFS).open("w", encoding="utf-8") as handle:
        for entry, text in added:
            handle.write(f"{entry.name}\t{' '.join(text.split())}\n")
    rows = entries + [e for e, _ in added]
    check_disjoint([e for e in rows if e.task != "long"])
    with MANIFEST.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([getattr(row, f) for f in FIELDS])
    minutes = {s: sum(e.seconds for e, _ in added if e.split == s) / 60 for s in ("dev", "heldout")}
    print(
        f"added {len(added)} recordings to {out} (dev {minutes['dev']:.1f} min, "
        f"held-out {minutes['heldout']:.1f} min) and {MANIFEST}"
    )
