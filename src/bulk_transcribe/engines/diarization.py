"""Who spoke when: speaker turns from voice embeddings of the speech, clustered offline.

Speech regions come from the Silero VAD model that faster-whisper ships; each region is cut
into short overlapping windows, each window becomes a voice embedding from Resemblyzer's
encoder (its weights ship inside its wheel, so nothing is downloaded at run time), and the
embeddings are clustered into speakers. Resemblyzer brings torch, so it is the optional
extra `bulk-transcribe[speakers]`; without it, asking for speakers is a clear error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bulk_transcribe.errors import ErrorKind, PermanentError

log = logging.getLogger(__name__)

RATE = 16_000
WINDOW_SECONDS = 1.5  # long enough for a voice print, short enough for quick turns
HOP_SECONDS = 0.75
MIN_REGION_SECONDS = 0.4  # shorter bursts carry too little voice to embed
# Auto count, measured on the dev half of benchmarks/speech_corpus.py (its first build; never
# the held-out half): the last merge of average-linkage clustering (cosine) came at 0.23-0.47
# in eleven one-voice recordings and at 0.49-0.60 in nine conversations of 2-5 LibriSpeech
# voices, so below this there is one speaker. Above it, the count is the one whose clusters
# are best separated (highest mean silhouette): right in 8 of those 9, where cutting the
# tree at a distance (0.5, before) was right in 4 (it merged similar voices).
ONE_SPEAKER_DISTANCE = 0.48
# faster-whisper's own VAD padding; true turns include the breath before and after words.
SPEECH_PAD_MS = 400
MIN_SILENCE_MS = 500
JOIN_PAUSE_SECONDS = 1.0  # a speaker's pause shorter than this stays inside their turn
MAX_AUTO_SPEAKERS = 8
SMOOTHING_WINDOWS = 3  # a label must hold this many windows before a turn changes

_encoder = None
_encoder_lock = threading.Lock()


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int  # 1, 2, ... in order of first appearance


def diarize(audio: np.ndarray, speakers: int | None = None) -> list[Turn]:
    """Speaker turns in 16 kHz mono `audio`; `speakers` None means find how many."""
    regions = speech_regions(audio)
    windows = [w for region in regions for w in _windows(region)]
    if not windows:
        return []
    embeddings = embed(audio, windows)
    labels = cluster(embeddings, speakers)
    return _turns(windows, _smooth(labels))


def speech_regions(audio: np.ndarray) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=MIN_SILENCE_MS, speech_pad_ms=SPEECH_PAD_MS)
    stamps = get_speech_timestamps(audio, options, sampling_rate=RATE)
    regions = [(s["start"] / RATE, s["end"] / RATE) for s in stamps]
    return [(start, end) for start, end in regions if end - start >= MIN_REGION_SECONDS]


def _windows(region: tuple[float, float]) -> list[tuple[float, float]]:
    start, end = region
    if end - start <= WINDOW_SECONDS:
        return [(start, end)]
    count = int(np.ceil((end - start - WINDOW_SECONDS) / HOP_SECONDS)) + 1
    starts = np.linspace(start, end - WINDOW_SECONDS, count)
    return [(float(s), float(s) + WINDOW_SECONDS) for s in starts]


def load_voice_encoder():  # -> resemblyzer.VoiceEncoder
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            try:
                from resemblyzer import VoiceEncoder
            except ImportError as exc:
                raise PermanentError(
                    ErrorKind.MODEL,
                    "speaker labels need the optional speaker model: "
                    "pip install 'bulk-transcribe[speakers]'",
                ) from exc
            _encoder = VoiceEncoder("cpu", verbose=False)
        return _encoder


def embed(audio: np.ndarray, windows: Sequence[tuple[float, float]]) -> np.ndarray:
    """One unit-length voice embedding per window."""
    import torch
    from resemblyzer.audio import wav_to_mel_spectrogram

    encoder = load_voice_encoder()
    frames = round(WINDOW_SECONDS * 100)  # the encoder's mel frames are 10 ms apart
    mels = []
    for start, end in windows:
        piece = audio[int(start * RATE) : int(end * RATE)]
        mel = wav_to_mel_spectrogram(piece)
        if len(mel) < frames:  # a short region: repeat it to fill the window
            mel = np.resize(mel, (frames, mel.shape[1]))
        mels.append(mel[:frames])
    with torch.no_grad():
        batch = torch.from_numpy(np.stack(mels)).to(encoder.device)
        vectors = encoder(batch).cpu().numpy()
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def cluster(embeddings: np.ndarray, speakers: int | None) -> list[int]:
    """A speaker label (0, 1, ...) per embedding: average-linkage clustering on cosine
    distance, cut into `speakers` clusters, or into the count found by `speaker_count`."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(embeddings) == 1:
        return [0]
    tree = linkage(embeddings, method="average", metric="cosine")
    count = speakers if speakers is not None else speaker_count(embeddings, tree)
    labels = fcluster(tree, t=max(1, count), criterion="maxclust")
    return list(labels - 1)


def speaker_count(embeddings: np.ndarray, tree: np.ndarray) -> int:
    """One when even the last merge joins near voices; else the count, up to
    MAX_AUTO_SPEAKERS, whose clusters have the highest mean silhouette."""
    from scipy.cluster.hierarchy import fcluster

    if len(embeddings) < 3 or tree[-1, 2] < ONE_SPEAKER_DISTANCE:
        return 1
    distances = 1.0 - np.clip(embeddings @ embeddings.T, -1.0, 1.0)  # unit vectors: cosine
    scores = {}
    for count in range(2, min(MAX_AUTO_SPEAKERS, len(embeddings) - 1) + 1):
        labels = fcluster(tree, t=count, criterion="maxclust")
        if len(set(labels)) == count:
            scores[count] = mean_silhouette(distances, labels)
    return max(scores, key=scores.__getitem__) if scores else 1


def mean_silhouette(distances: np.ndarray, labels: np.ndarray) -> float:
    """Rousseeuw's silhouette averaged over the points (0 for a point alone in its
    cluster). Written out (a dozen lines of numpy) rather than adding scikit-learn to the
    speakers extra for one function."""
    clusters = np.unique(labels)
    # Mean distance from every point to every cluster; a point's own cluster excludes itself.
    sums = np.stack([distances[:, labels == c].sum(axis=1) for c in clusters], axis=1)
    sizes = np.array([(labels == c).sum() for c in clusters])
    own = np.searchsorted(clusters, labels)
    rows = np.arange(len(labels))
    own_size = sizes[own] - 1
    within = np.where(own_size > 0, sums[rows, own] / np.maximum(own_size, 1), 0.0)
    means = sums / sizes
    means[rows, own] = np.inf
    nearest = means.min(axis=1)
    scores = np.where(own_size > 0, (nearest - within) / np.maximum(within, nearest), 0.0)
    return float(scores.mean())


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
