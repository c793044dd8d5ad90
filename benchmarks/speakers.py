"""Speaker labels: diarization error rate, speaker count and CPU time on real conversations.

    .venv/bin/python benchmarks/speakers.py        # needs the extra: pip install -e '.[speakers]'

Runs our diarization (engines/diarization.py) on the two-speaker conversations in
../shared/speech/speakers/ (LibriSpeech test-other utterances of different speakers joined
with short pauses; true turns in the .rttm files), with the count found automatically and
with it given, and scores each with pyannote.metrics' diarization error rate at a 0.25 s
collar on each side of every true boundary (pyannote's `collar=0.5`, the total width), and
at pyannote's `collar=0.25` too; then counts the speakers `auto` finds in each one-voice
recording of ../shared/speech. CPU seconds are per minute of audio, model load excluded.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from faster_whisper import decode_audio
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from bulk_transcribe.engines.diarization import RATE, Turn, diarize

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "speech"
SPEAKERS = SPEECH / "speakers"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    diarize(decode_audio(str(next(SPEAKERS.glob("*.flac"))))[: RATE * 3])  # load the model
    print(
        f"{'file':<12}{'mode':<8}{'found':>6}{'true':>6}{'DER ±0.25':>11}{'DER ±0.125':>12}"
        f"{'CPU s/min':>11}"
    )
    for media in sorted(SPEAKERS.glob("*.flac")):
        truth = reference(media.with_suffix(".rttm"))
        audio = decode_audio(str(media))
        minutes = len(audio) / RATE / 60
        for mode, count in (("auto", None), ("given", len(truth.labels()))):
            started = time.process_time()
            turns = diarize(audio, count)
            cpu = (time.process_time() - started) / minutes
            found = hypothesis(turns)
            wide = DiarizationErrorRate(collar=0.5)(truth, found)
            narrow = DiarizationErrorRate(collar=0.25)(truth, found)
            print(
                f"{media.stem:<12}{mode:<8}{len(found.labels()):>6}{len(truth.labels()):>6}"
                f"{wide * 100:>10.1f}%{narrow * 100:>11.1f}%{cpu:>11.1f}",
                flush=True,
            )
    single_speaker_counts()


def single_speaker_counts() -> None:
    """Each real recording outside speakers/ has one voice: `auto` should find one."""
    print(f"\n{'one-voice recording':<36}{'found':>6}{'CPU s/min':>11}")
    for media in sorted(SPEECH.glob("*.*")):
        if media.suffix not in (".wav", ".flac", ".mp3"):
            continue
        audio = decode_audio(str(media))
        started = time.process_time()
        turns = diarize(audio, None)
        cpu = (time.process_time() - started) / (len(audio) / RATE / 60)
        print(f"{media.name:<36}{len({t.speaker for t in turns}):>6}{cpu:>11.1f}", flush=True)


if __name__ == "__main__":
    main()
