"""Vocabulary hints on real speech: are rare names and terms spelled right when given?

    .venv/bin/python benchmarks/hints.py [--splits dev,heldout] [--others 3]

Material: the corpus's recordings with references as recorded (speech_corpus.py; not the
derived telephone and noisy copies) whose reference holds a
RARE term: a word of five letters or more that the bundled model's tokenizer cuts into three
or more pieces even in lower case with its leading space (" danglars", " kyushu"; a common
word such as " necessary" is one piece), which is how the names, places and jargon a user
would list look to Whisper. Chosen from the
references alone, before anything is transcribed, so the model's own errors pick nothing.

Each variant is the real CLI on a sheet of those files (`path`, `hints` columns), side by side
in one run:

  no hints      the sheet without a hints column
  own terms     each row's hints: the rare terms of its own reference, as a user who knows
                the names in each recording would type them
  with others   its own terms and those of `--others` other recordings, shuffled, as a shared
                glossary holds names that a given recording never says

Reported per split: term accuracy (occurrences of the rare terms in the references found in
the transcript, normalised by Whisper's English normaliser, bag of words) and the WER of those
files, so a hint that helps the names but hurts the rest shows.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import jiwer
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import REPO
from corpus_conditions import condition_of
from local_asr import model_path, normalise, run_measured, split_corpus, texts_from_session

MIN_LETTERS = 5
MIN_PIECES = 3
SEED = 27
CLI = REPO / ".venv" / "bin" / "bulk-transcribe"


def rare_terms(reference: str, tokenizer: Tokenizer) -> list[str]:
    """The reference's rare words, spelled as a user would type them (capitalised when the
    reference is all capitals, as LibriSpeech's are), first occurrence order."""
    terms: dict[str, str] = {}
    for word in re.findall(r"[A-Za-z]+", reference):
        if len(word) < MIN_LETTERS:
            continue
        spelled = word.capitalize() if word.isupper() else word
        if len(tokenizer.encode(" " + word.lower(), add_special_tokens=False).ids) >= MIN_PIECES:
            terms.setdefault(spelled.lower(), spelled)
    return list(terms.values())


def term_hits(terms: list[str], reference: str, transcript: str) -> tuple[int, int]:
    """How many of the terms' occurrences in the reference the transcript has (bag of words,
    both normalised), and how many there were."""
    wanted = {normalise(term) for term in terms}
    ref_words = Counter(w for w in normalise(reference).split() if w in wanted)
    hyp_words = Counter(normalise(transcript).split())
    found = sum(min(count, hyp_words[word]) for word, count in ref_words.items())
    return found, sum(ref_words.values())


def write_sheet(path: Path, folder: Path, hints: dict[str, str] | None) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "hints"] if hints is not None else ["path"])
        for name in sorted(os.listdir(folder)):
            row = [str(folder / name)]
            writer.writerow([*row, hints.get(name, "")] if hints is not None else row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--splits", default="dev,heldout")
    parser.add_argument("--others", type=int, default=3, help="other recordings' terms added")
    args = parser.parse_args()
    tokenizer = Tokenizer.from_file(str(Path(model_path()) / "tokenizer.json"))
    rng = random.Random(SEED)

    with tempfile.TemporaryDirectory(prefix="hints-bench-") as temp:
        root = Path(temp)
        everything = root / "all"
        everything.mkdir()
        refs, groups, _ = split_corpus(everything, args.splits.split(","))
        for split, names in groups.items():
            names = [n for n in names if condition_of(n) == "as recorded"]  # no derived copies
            terms = {n: rare_terms(refs[n], tokenizer) for n in names}
            chosen = [n for n in names if terms[n]]
            folder = root / split
            folder.mkdir()
            for name in chosen:
                (folder / name).symlink_to((everything / name).resolve())
            own = {n: ", ".join(terms[n]) for n in chosen}
            glossary = {}
            for name in chosen:
                others = rng.sample(
                    [n for n in chosen if n != name], min(args.others, len(chosen) - 1)
                )
                mixed = terms[name] + [t for o in others for t in terms[o]]
                rng.shuffle(mixed)
                glossary[name] = ", ".join(dict.fromkeys(mixed))
            count = sum(len(terms[n]) for n in chosen)
            print(f"\n{split}: {len(chosen)} of {len(names)} recordings hold {count} rare terms")
            print("| variant | term accuracy | WER on these files | wall s | CPU s |")
            print("| --- | ---: | ---: | ---: | ---: |")
            for variant, hints in (
                ("no hints", None),
                ("own terms", own),
                ("with others", glossary),
            ):
                sheet = root / f"{split}-{variant.replace(' ', '_')}.csv"
                write_sheet(sheet, folder, hints)
                out = root / f"out-{split}-{variant.replace(' ', '_')}"
                command = [str(CLI), "run", str(sheet), "-f", "txt", "--out", str(out)]
                wall, cpu, _ = run_measured(variant, command, dict(os.environ))
                texts = texts_from_session(out)
                found = total = 0
                for name in chosen:
                    hit, occurrences = term_hits(
                        terms[name], refs[name], texts.get(Path(name).stem, "")
                    )
                    found += hit
                    total += occurrences
                wer = jiwer.wer(
                    [normalise(refs[n]) for n in chosen],
                    [normalise(texts.get(Path(n).stem, "")) or "<empty>" for n in chosen],
                )
                print(
                    f"| {variant} | {found}/{total} ({100 * found / max(total, 1):.1f} %) "
                    f"| {100 * wer:.2f} % | {wall:.1f} | {cpu:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
