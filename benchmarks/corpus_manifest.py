"""The speech corpus's manifest and files: what every benchmark reads, and what the build
steps (speech_corpus.py, corpus_conditions.py) share. The manifest `corpus/manifest.tsv` lists
every recording (task, split, speakers, seconds, source repository, commit, path, licence);
the audio, references and RTTM files are in the cache folder the build writes.
"""

from __future__ import annotations

import csv
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import RATE, REPO, as_pcm, write_audio

SPEECH = REPO.parent / "shared" / "speech"
MANIFEST = Path(__file__).resolve().parent / "corpus" / "manifest.tsv"
CORPUS_CACHE = Path.home() / ".cache" / "bulk-transcribe" / "bench-corpus"
SPLIT_SEED = 27
FIELDS = ("name", "task", "split", "speakers", "seconds", "repo", "commit", "path", "licence")


@dataclass
class Entry:
    name: str
    task: str  # "asr" (has a reference text), "speakers" (has an RTTM), "long"
    split: str  # "dev" or "heldout"
    speakers: str  # space-separated speaker ids
    seconds: float
    repo: str
    commit: str
    path: str  # the source path(s) in the repository, ';'-separated
    licence: str


class Sources:
    """Reads files out of local clones of the source repositories (git objects, no checkout)."""

    def __init__(self, git_dirs: dict[str, Path]) -> None:
        self.git_dirs = git_dirs

    def commit(self, repo: str) -> str:
        return self._git(repo, "rev-parse", "HEAD").decode().strip()

    def read(self, repo: str, path: str, commit: str | None = None) -> bytes:
        return self._git(repo, "show", f"{commit or 'HEAD'}:{path}")

    def list(self, repo: str, folder: str) -> list[str]:
        out = self._git(repo, "ls-tree", "-r", "--name-only", "HEAD", folder).decode()
        return sorted(out.split())

    def _git(self, repo: str, *args: str) -> bytes:
        if repo not in self.git_dirs:
            raise SystemExit(f"needs a clone of {repo}: --repo {repo}=path/to/its/.git")
        command = ["git", "--git-dir", str(self.git_dirs[repo]), *args]
        return subprocess.run(command, check=True, capture_output=True).stdout


def decode_bytes(data: bytes, suffix: str) -> np.ndarray:
    """Float mono samples at RATE from an encoded file held in memory (PyAV)."""
    import io

    from faster_whisper import decode_audio

    buffer = io.BytesIO(data)
    buffer.name = f"audio{suffix}"
    return decode_audio(buffer, sampling_rate=RATE)


def write_opus(path: Path, audio: np.ndarray) -> None:
    """16 kHz mono Ogg Opus at 24 kbit/s (3 kB a second)."""
    write_audio(path, as_pcm(audio), container="ogg", codec="libopus", bit_rate=24_000)


def split_speakers(speakers: list[str], fixed_dev: set[str]) -> dict[str, str]:
    """Once, by speaker, at random with SPLIT_SEED; `fixed_dev` speakers are dev."""
    rng = random.Random(SPLIT_SEED)
    free = sorted(set(speakers) - fixed_dev)
    rng.shuffle(free)
    half = set(free[: len(free) // 2])
    return {s: "dev" if s in fixed_dev or s in half else "heldout" for s in speakers}


def check_disjoint(entries: list[Entry]) -> None:
    """No speaker on both sides of the split, in any task."""
    sides: dict[str, set[str]] = {}
    for entry in entries:
        for speaker in entry.speakers.split():
            sides.setdefault(speaker, set()).add(entry.split)
    both = sorted(s for s, split in sides.items() if {"dev", "heldout"} <= split)
    if both:
        raise SystemExit(f"speakers on both sides of the split: {', '.join(both)}")


def write_manifest(entries: list[Entry]) -> None:
    MANIFEST.parent.mkdir(exist_ok=True)
    with MANIFEST.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(FIELDS)
        for e in entries:
            writer.writerow([getattr(e, f) for f in FIELDS])


def load_manifest() -> list[Entry]:
    with MANIFEST.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [Entry(**{**row, "seconds": float(row["seconds"])}) for row in rows]


def audio_path(entry: Entry, cache: Path = CORPUS_CACHE) -> Path:
    if entry.repo == "shared/speech" and (SPEECH / entry.name).exists():
        return SPEECH / entry.name  # its derived copies (corpus_conditions.py) are in the cache
    name = entry.name if Path(entry.name).suffix else f"{entry.name}.opus"  # conversations
    path = cache / name
    if not path.exists():
        raise SystemExit(f"{path} is missing: build the corpus first (benchmarks/speech_corpus.py)")
    return path


def references(cache: Path = CORPUS_CACHE) -> dict[str, str]:
    """refs.tsv, and the refs_*.tsv of steps added to a built corpus (corpus_conditions.py)."""
    rows = [
        row
        for path in sorted(cache.glob("refs*.tsv"))
        for row in path.read_text(encoding="utf-8").splitlines()
    ]
    return {name: text for name, _, text in (row.partition("\t") for row in rows)}
