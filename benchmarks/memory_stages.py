"""Where a long recording's memory goes: the local engine's stages, one process, RSS per stage.

    .venv/bin/python benchmarks/memory_stages.py [--minutes 120] [--run-options "--speakers auto"]
        [--save-prints FILE.npz]

The first N minutes of `long_2h.opus` (as long_recording.py cuts them, in a process of its
own) go through LocalWhisperEngine.transcribe (after warm_up, on a worker thread, as a run
does) in a fresh process whose stages are wrapped:
decoding, each section's words, loading the speaker models, the VAD, the voice prints, the
clustering (scipy's linkage alone too), the overlap path's segmentation. For each stage: RSS
when it starts and ends, and whether the process's peak (rusage, which sees every moment)
rose inside it, and to what. `--save-prints`: the window path's windows and prints, to try
clusterings on without embedding again.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child import run_in_child
from corpus_manifest import CORPUS_CACHE
from long_recording import cut_recording

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wrap(owner, name: str, label: str, rows: list) -> None:
    """Replace owner.name by a function that records RSS and the peak around each call."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def measured(*args, **kwargs):
        before, peak_before = rss_mb(), peak_mb()
        result = original(*args, **kwargs)
        after, peak_after = rss_mb(), peak_mb()
        new_peak = f"{peak_after:.0f}" if peak_after > peak_before + 1 else "-"
        rows.append((label, before, after, new_peak))
        print(f"{label:<34}{before:>9.0f}{after:>9.0f}{new_peak:>10}", flush=True)
        return result

    setattr(owner, name, measured)


def profile(path: Path, run_options: list[str], save_prints: str | None, trim: bool, queue) -> None:
    import numpy as np
    import scipy.cluster.hierarchy as hierarchy

    from bulk_transcribe.cli.main import app  # noqa: F401  (the CLI's imports, as a run has)
    from bulk_transcribe.engines import (
        campplus,
        diarization,
        local_whisper,
        overlap_diarization,
        segmentation,
        voice_encoders,
    )
    from bulk_transcribe.engines.base import EngineJob
    from bulk_transcribe.models import MediaFile, TranscribeOptions

    speakers = (
        run_options[run_options.index("--speakers") + 1] if "--speakers" in run_options else None
    )
    overlap = "--speaker-overlap" in run_options
    rows: list = []
    print(f"{'stage':<34}{'RSS in':>9}{'RSS out':>9}{'new peak':>10}")
    print(f"{'(imports done)':<34}{rss_mb():>9.0f}{rss_mb():>9.0f}{peak_mb():>10.0f}")
    wrap(local_whisper, "decode_pcm16", "decode int16", rows)
    wrap(local_whisper.LocalWhisperEngine, "_service", "whisper model (first call loads)", rows)
    wrap(local_whisper.LocalWhisperEngine, "_transcribe_section", "section: words", rows)
    if trim:
        lookup = local_whisper.LocalWhisperEngine._speaker_lookup

        def trimmed(*args, **kwargs):
            import ctypes

            before = rss_mb()
            ctypes.CDLL(None).malloc_trim(0)
            print(f"{'(malloc_trim)':<34}{before:>9.0f}{rss_mb():>9.0f}{'':>10}", flush=True)
            return lookup(*args, **kwargs)

        local_whisper.LocalWhisperEngine._speaker_lookup = trimmed
    wrap(local_whisper.LocalWhisperEngine, "_speaker_lookup", "SPEAKERS (all)", rows)
    wrap(voice_encoders, "_load", "  load voice encoder", rows)
    wrap(diarization, "speech_regions", "  VAD (speech_regions)", rows)
    wrap(overlap_diarization, "speech_regions", "  VAD (speech_regions)", rows)
    wrap(campplus.CamPlusPlusEncoder, "embed", "  CAM++ window prints", rows)
    wrap(campplus.CamPlusPlusEncoder, "embed_pieces", "  CAM++ piece prints", rows)
    wrap(diarization, "cluster", "  cluster (all)", rows)
    wrap(hierarchy, "linkage", "    scipy linkage", rows)
    wrap(diarization, "speaker_count", "    speaker_count", rows)
    wrap(diarization, "_turns", "  turns", rows)
    wrap(segmentation, "load_segmentation", "  load segmentation", rows)
    wrap(segmentation.SpeakerSegmentation, "activity", "  segmentation activity", rows)
    wrap(overlap_diarization, "local_prints", "  local prints (all)", rows)
    wrap(overlap_diarization, "turns_of_local", "  turns of local prints", rows)
    if save_prints:
        original = diarization.voice_prints

        def saving(*args, **kwargs):
            prints = original(*args, **kwargs)
            np.savez(save_prints, windows=np.array(prints.windows), embeddings=prints.embeddings)
            return prints

        diarization.voice_prints = saving
    engine = local_whisper.LocalWhisperEngine(
        speakers=speakers, speaker_overlap=overlap, speaker_encoder=None
    )
    job = EngineJob(options=TranscribeOptions(word_times=True), on_progress=lambda _f: None)
    # As a run does: the models load first (warm_up), the item goes on a worker thread.
    engine.warm_up()
    print(f"{'(warmed up)':<34}{rss_mb():>9.0f}{rss_mb():>9.0f}{peak_mb():>10.0f}")
    with ThreadPoolExecutor(1) as pool:
        transcript = pool.submit(engine.transcribe, MediaFile(path), job).result()
    print(f"{'(transcript made)':<34}{rss_mb():>9.0f}{rss_mb():>9.0f}{'':>10}")
    words = sum(len(s.text.split()) for s in transcript.segments)
    print(f"segments {len(transcript.segments)}, words {words}, peak {peak_mb():.0f} MB")
    engine.close()
    queue.put(peak_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--run-options", default="--speakers auto")
    parser.add_argument("--save-prints", default=None)
    parser.add_argument(
        "--trim", action="store_true", help="malloc_trim(0) before the speakers: what it frees"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-stages-"))
    run_in_child(cut_recording, CORPUS_CACHE / "long_2h.opus", work, [args.minutes])
    path = work / f"long_{args.minutes:g}min.opus"
    run_in_child(profile, path, args.run_options.split(), args.save_prints, args.trim)


if __name__ == "__main__":
    main()
