"""How fast `find` answers over a store of 10,000 timed segments, against the alternatives.

    .venv/bin/python benchmarks/search_index.py [--segments 10000]

Builds a real store: 100 done items in one session, each with its transcript kept in the
store and its JSON file written by the project's writer (sentences of the bundled samples'
texts and the shared speech references, shuffled, some with accents). Then measures, side by
side in one run:
  (a) the first search, which indexes every item (cold): from the transcripts the store
      keeps, and again from the JSON files, as for items finished by earlier versions;
  (b) searches with the index up to date (warm; each still checks for new items first),
      for a word, a phrase, a prefix, a boolean query and an accent-folded word;
  (c) the same words with LIKE '%word%' over a plain table of the same segments (every
      match, unranked; LIKE folds no accents, so 'café' stands in for 'cafe');
  (d) the same words by reading every JSON transcript and scanning it (what grep does);
  (e) (b) again while another thread keeps finishing items in a second session (under load).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bulk_transcribe import service
from bulk_transcribe.models import ItemSpec, ItemStatus, Segment, SourceType, Transcript
from bulk_transcribe.outputs.writer import write_item_outputs
from bulk_transcribe.store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED_REFS = Path("/work/shared/speech/refs.tsv")
QUERIES = {
    "word": "electricity",
    "phrase": '"fresh beans"',
    "prefix": "engin*",
    "boolean": "coffee OR garden NOT rain",
    "accent": "cafe",
}
LIKE_WORDS = {"word": "electricity", "phrase": "fresh beans", "accent": "café"}
REPEATS = 30


def sentences() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "examples/texts").iterdir())]
    if SHARED_REFS.exists():
        texts += [line.split("\t")[-1] for line in SHARED_REFS.read_text().splitlines()]
    found = [s.strip() + "." for t in texts for s in t.split(".") if len(s.split()) > 3]
    return [*found, "Le café à Montréal était très bon.", "Un garçon a commandé un thé."]


def build_store(folder: Path, segments: int, per_item: int = 100) -> tuple[Store, list[Segment]]:
    rng = random.Random(3)
    pool = sentences()
    store = Store(folder / "bulk_transcribe.db")
    session = store.create_session(folder, {})
    count = segments // per_item
    specs = [
        ItemSpec(f"https://www.youtube.com/watch?v=vid{n:08d}", SourceType.YOUTUBE, f"Talk {n}")
        for n in range(count)
    ]
    store.add_items(session.id, specs)
    everything: list[Segment] = []
    for number, item in enumerate(store.items(session.id)):
        start = 0.0
        made = []
        for _ in range(per_item):
            text = rng.choice(pool)
            length = 2.0 + len(text) / 15
            made.append(Segment(start, start + length, text))
            start += length + rng.random()
        transcript = Transcript(made, "en", start, "bench", "bench", "bench")
        paths = write_item_outputs(session.folder, f"talk_{number}", ["json"], {}, transcript)
        store.start_item(item.id)
        store.save_transcript(item.id, transcript, "2026-01-01T00:00:00Z")
        store.finish_item(item.id, ItemStatus.DONE, outputs=[p.name for p in paths])
        everything += made
    return store, everything


def forget_stored(store: Store) -> None:
    """As a store written before transcripts were kept: the index must read the files."""
    with sqlite3.connect(store.path) as conn:
        for table in ("transcripts", "indexed_items", "segments_fts"):
            conn.execute(f"DELETE FROM {table}")


def timed(action, repeats: int = REPEATS) -> float:
    """Median milliseconds of `repeats` runs."""
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def like_table(folder: Path, segments: list[Segment]) -> sqlite3.Connection:
    conn = sqlite3.connect(folder / "plain.db")
    conn.execute("CREATE TABLE segments (text TEXT, start REAL)")
    conn.executemany("INSERT INTO segments VALUES (?, ?)", [(s.text, s.start) for s in segments])
    conn.commit()
    return conn


def scan_files(folder: Path, word: str) -> int:
    hits = 0
    for path in folder.glob("sessions/*/*.json"):
        for segment in json.loads(path.read_text(encoding="utf-8"))["segments"]:
            hits += word.lower() in segment["text"].lower()
    return hits


def keep_finishing(store: Store, folder: Path, stop: threading.Event) -> int:
    """A second session whose items finish one after another, as a running batch's do."""
    session = store.create_session(folder, {})
    done = 0
    while not stop.is_set():
        spec = ItemSpec(f"https://www.youtube.com/watch?v=new{done:08d}", SourceType.YOUTUBE)
        store.add_items(session.id, [spec])
        item = store.items(session.id, [ItemStatus.QUEUED])[0]
        made = [Segment(0.0, 2.0, "A fresh item about electricity and engines.")]
        transcript = Transcript(made, "en", 2.0, "bench", "bench", "bench")
        paths = write_item_outputs(session.folder, f"new_{done}", ["json"], {}, transcript)
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.DONE, outputs=[p.name for p in paths])
        done += 1
        stop.wait(0.05)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store, segments = build_store(folder, args.segments)
        print(
            f"store: {len(segments)} segments in {len(store.items(store.list_sessions()[0].id))}"
            " items"
        )
        index = service.open_search_index(store)
        began = time.perf_counter()
        first = index.search("electricity")
        cold = (time.perf_counter() - began) * 1000
        print(
            f"(a) first search, indexing {first.refresh.indexed_segments} segments from the "
            f"transcripts the store keeps: {cold:.0f} ms"
        )
        forget_stored(store)
        began = time.perf_counter()
        index.search("electricity")
        cold = (time.perf_counter() - began) * 1000
        print(f"    the same read from the JSON files (items of earlier versions): {cold:.0f} ms")

        warm = {name: timed(lambda q=q: index.search(q)) for name, q in QUERIES.items()}
        plain = like_table(folder, segments)
        like = {
            name: timed(
                lambda w=w: plain.execute(
                    "SELECT text, start FROM segments WHERE text LIKE ?", (f"%{w}%",)
                ).fetchall()
            )
            for name, w in LIKE_WORDS.items()
        }
        scan = {name: timed(lambda w=w: scan_files(folder, w), 5) for name, w in LIKE_WORDS.items()}

        stop = threading.Event()
        writer_result: list[int] = []
        writer = threading.Thread(
            target=lambda: writer_result.append(keep_finishing(store, folder, stop))
        )
        writer.start()
        time.sleep(0.2)
        loaded = {name: timed(lambda q=q: index.search(q)) for name, q in QUERIES.items()}
        stop.set()
        writer.join()

        print(
            f"\n{'query':<9} {'(b) FTS ms':>10} {'(e) loaded':>10} {'(c) LIKE ms':>11}"
            f" {'(d) files ms':>12} {'c/b':>6} {'d/b':>7}"
        )
        for name in QUERIES:
            b, e = warm[name], loaded[name]
            c, d = like.get(name), scan.get(name)
            print(
                f"{name:<9} {b:>10.2f} {e:>10.2f} {c if c is not None else float('nan'):>11.2f}"
                f" {d if d is not None else float('nan'):>12.1f}"
                f" {(c / b) if c else float('nan'):>6.1f} {(d / b) if d else float('nan'):>7.0f}"
            )
        print(f"\nunder load: {writer_result[0]} items finished meanwhile in another session")
        print(
            f"every warm query under 100 ms: {max(warm.values()) < 100}; "
            f"under load: {max(loaded.values()) < 100}"
        )
        index.close()
        plain.close()
        store.close()


if __name__ == "__main__":
    main()
