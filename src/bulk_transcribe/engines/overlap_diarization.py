"""Who spoke when, overlaps included: local speaker segmentation, then voice prints of each
local speaker, clustered into the recording's voices.

The design follows pyannote's published speaker-diarization-3.x pipeline (written here from
its description, not its code):

1. The segmentation model (segmentation.py) reads 10 s chunks every STEP_SECONDS and says, per
   frame, which of up to three local speakers talk, up to two at once.
2. Each local speaker of a chunk with enough speech where nobody else talks becomes one CAM++
   voice print of that speech (campplus.py): seconds of one voice, not 1.5 s windows that may
   straddle a turn or an overlap.
3. The prints are counted and clustered the way the window path counts its prints
   (diarization.speaker_count: over-split, small clusters left out, nearest centroids
   merged), with thresholds of their own; then each chunk's local speakers are matched to
   the voices one to one (two local speakers of one chunk are two voices).
4. Per frame, the segmentation says how many talk (averaged over the chunks that cover it);
   that many voices with the highest activation over those chunks are taken. Turns of
   different voices may overlap; diarization.speaker_at picks who talks most over a word.
5. Speech that Silero finds (diarization.speech_regions) and no voice holds goes to the
   nearest voice of its region: the segmentation leaves pauses inside a turn and quiet
   speech to no one.

Measured beside the window path and NOT the default (benchmarks/README.md, "Local speaker
segmentation"): better on real recordings with overlap, worse on constructed conversations
of similar voices, where the model often takes two voices of one chunk for one local speaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bulk_transcribe.engines.diarization import (
    MAX_CLUSTERED_WINDOWS,
    CountThresholds,
    Turn,
    speaker_count,
    speech_regions,
    spread_sample,
)
from bulk_transcribe.engines.pcm import as_float
from bulk_transcribe.engines.segmentation import RATE, LocalActivity, load_segmentation

if TYPE_CHECKING:
    from bulk_transcribe.engines.campplus import CamPlusPlusEncoder

EMBEDDING_SIZE = 192  # CAM++'s
PIECES_AT_ONCE = 128  # at most 128 x 10 s of samples (80 MB) cut out at once

STEP_SECONDS = 2.5  # between chunk starts (pyannote's own: 1 s; CPU budget, see README)
MIN_PRINT_SECONDS = 1.0  # a local speaker's clean speech shorter than this is not counted
# ... but still printed, to be matched to a voice, from this much speech on (a backchannel,
# a voice heard briefly in a meeting: pyannote too assigns local speakers it did not cluster).
MIN_ASSIGN_SECONDS = 0.3
JOIN_PAUSE_SECONDS = 0.5  # a voice's shorter pause stays inside its turn
MIN_TURN_SECONDS = 0.1
FILL_SPEECH = True  # step 5 above
HAMMING = True  # a chunk's middle frames weigh more than its edges (pyannote's aggregation)
# CAM++ prints of local speakers, chosen on the dev half only (benchmarks/README.md).
SEGMENT_COUNT = CountThresholds(0.375, 0.24, 2, 0.02)


@dataclass(frozen=True)
class LocalPrints:
    """The costly half: the segmentation and a print per printed local speaker."""

    activity: LocalActivity
    owners: list[tuple[int, int]]  # (chunk, local speaker) of each print
    embeddings: np.ndarray  # (prints, 192), unit rows
    counted: np.ndarray  # (prints,) bool: enough clean speech to count voices with
    seconds: float  # the recording's length
    # Silero's speech regions (diarization.speech_regions): speech the segmentation left to
    # no one goes to the nearest voice of its region.
    speech: tuple[tuple[float, float], ...] = ()


def diarize_overlapping(
    audio: np.ndarray, speakers: int | None, encoder: CamPlusPlusEncoder
) -> list[Turn]:
    """Speaker turns in 16 kHz mono `audio` (overlapping where two talk at once); `speakers`
    None means find how many. `encoder`: CAM++ (it embeds pieces of any length)."""
    return turns_of_local(local_prints(audio, encoder), speakers)


def local_prints(
    audio: np.ndarray, encoder: CamPlusPlusEncoder, step: float = STEP_SECONDS
) -> LocalPrints:
    """Segment `audio` and print every local speaker with enough clean speech. `encoder`
    must embed pieces of audio (CamPlusPlusEncoder.embed_pieces)."""
    activity = load_segmentation().activity(audio, step)
    speech = tuple(speech_regions(audio))
    owners, chosen, counted = [], [], []
    alone = activity.active.sum(axis=2) == 1
    for chunk in range(len(activity.starts)):
        for speaker in range(activity.active.shape[2]):
            talks = activity.active[chunk, :, speaker]
            clean = talks & alone[chunk]
            # Where nobody else talks, if there is enough of it (pyannote's choice too);
            # else all of the speaker's speech.
            frames = clean if clean.sum() * activity.frame_step >= MIN_PRINT_SECONDS else talks
            seconds = frames.sum() * activity.frame_step
            if seconds >= MIN_ASSIGN_SECONDS:
                owners.append((chunk, speaker))
                chosen.append(frames)
                counted.append(seconds >= MIN_PRINT_SECONDS)
    embeddings = np.zeros((len(owners), EMBEDDING_SIZE), dtype=np.float32)
    # The pieces are cut PIECES_AT_ONCE at a time: a two-hour recording's would be gigabytes.
    for first in range(0, len(owners), PIECES_AT_ONCE):
        pieces = [
            _speech_of(audio, activity.starts[chunk], frames, activity)
            for (chunk, _), frames in zip(
                owners[first : first + PIECES_AT_ONCE],
                chosen[first : first + PIECES_AT_ONCE],
                strict=True,
            )
        ]
        embeddings[first : first + len(pieces)] = encoder.embed_pieces(pieces)
    seconds = len(audio) / RATE
    return LocalPrints(activity, owners, embeddings, np.array(counted, bool), seconds, speech)


def turns_of_local(
    prints: LocalPrints, speakers: int | None, thresholds: CountThresholds = SEGMENT_COUNT
) -> list[Turn]:
    """The turns of the recording's voices from its local prints (the cheap half)."""
    if not prints.owners:
        return []
    counted = prints.counted if prints.counted.any() else np.ones(len(prints.owners), bool)
    voices = _voices(prints.embeddings[counted], speakers, thresholds)
    assignment = _assign(prints, voices)
    return _reconstruct(prints, assignment, len(voices))


def _voices(
    embeddings: np.ndarray, speakers: int | None, thresholds: CountThresholds
) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(embeddings) < 3 and (speakers is None or len(embeddings) < 2):
        mean = embeddings.sum(axis=0)
        return (mean / np.linalg.norm(mean))[None, :]
    # A long recording's prints: the voices are found in an evenly spread sample, as on the
    # window path (diarization.cluster); every local speaker is then matched to one (_assign).
    spread = spread_sample(len(embeddings), MAX_CLUSTERED_WINDOWS)
    embeddings = embeddings if spread is None else embeddings[spread]
    tree = linkage(embeddings, method="average", metric="cosine")
    over_split = fcluster(tree, thresholds.overcluster_distance, "distance")
    if speakers is not None and len(np.unique(over_split)) < speakers:
        over_split = fcluster(tree, t=speakers, criterion="maxclust")
    return speaker_count(embeddings, over_split, thresholds, speakers)


def _assign(prints: LocalPrints, voices: np.ndarray) -> dict[tuple[int, int], int]:
    """(chunk, local speaker) -> voice: within a chunk one to one, the most similar overall
    (Hungarian assignment); a local speaker left over when a chunk has more of them than
    there are voices gets none."""
    from scipy.optimize import linear_sum_assignment

    similarity = prints.embeddings @ voices.T
    rows_of: dict[int, list[int]] = {}
    for row, (chunk, _) in enumerate(prints.owners):
        rows_of.setdefault(chunk, []).append(row)
    assignment = {}
    for rows in rows_of.values():
        picked, voice = linear_sum_assignment(-similarity[rows])
        for index, column in zip(picked, voice, strict=True):
            assignment[prints.owners[rows[index]]] = int(column)
    return assignment


def _reconstruct(
    prints: LocalPrints, assignment: dict[tuple[int, int], int], voices: int
) -> list[Turn]:
    activity = prints.activity
    chunks, frames, _ = activity.active.shape
    total = int(np.ceil(prints.seconds / activity.frame_step)) + 1
    offsets = np.rint(activity.starts / activity.frame_step).astype(int)
    score = np.zeros((total, voices), dtype=np.float32)
    talking = np.zeros(total, dtype=np.float32)
    covered = np.zeros(total, dtype=np.float32)
    weight = np.hamming(frames).astype(np.float32) if HAMMING else np.ones(frames, np.float32)
    for chunk in range(chunks):
        span = slice(offsets[chunk], min(offsets[chunk] + frames, total))
        length = span.stop - span.start
        local = activity.active[chunk, :length]
        covered[span] += weight[:length]
        talking[span] += local.sum(axis=1) * weight[:length]
        for speaker in range(local.shape[1]):
            voice = assignment.get((chunk, speaker))
            if voice is not None:
                score[span, voice] += local[:, speaker] * weight[:length]
    covered = np.maximum(covered, 1e-3)
    # Half up: a frame that one of two chunks hears a voice in counts it (np.rint would
    # round 0.5 to 0).
    count = np.floor(talking / covered + 0.5).astype(int)
    score /= covered[:, None]
    ranked = np.argsort(-score, axis=1)
    on = np.zeros_like(score, dtype=bool)
    for k in range(min(int(count.max(initial=0)), voices)):
        chosen = ranked[:, k]
        wanted = (count > k) & (score[np.arange(total), chosen] > 0)
        on[np.arange(total)[wanted], chosen[wanted]] = True
    if FILL_SPEECH:
        _fill_speech(on, score, prints.speech, activity.frame_step)
    return _turns(on, activity.frame_step, activity.frame_duration)


def _fill_speech(
    on: np.ndarray, score: np.ndarray, speech: tuple[tuple[float, float], ...], step: float
) -> None:
    """Frames of a speech region that no voice holds go to the voice of the nearest frame of
    that region that one holds (the one scored highest there, if two)."""
    held = on.any(axis=1)
    owner = np.where(held, np.argmax(np.where(on, score, -1.0), axis=1), -1)
    for start, end in speech:
        frames = np.arange(int(start / step), min(int(np.ceil(end / step)), len(on)))
        if len(frames) == 0:
            continue
        known = frames[held[frames]]
        if len(known) == 0 or len(known) == len(frames):
            continue
        empty = frames[~held[frames]]
        after = np.clip(np.searchsorted(known, empty), 0, len(known) - 1)
        before = np.clip(after - 1, 0, len(known) - 1)
        nearest = np.where(
            np.abs(known[before] - empty) <= np.abs(known[after] - empty),
            known[before],
            known[after],
        )
        on[empty, owner[nearest]] = True


def _turns(on: np.ndarray, step: float, duration: float) -> list[Turn]:
    found: list[tuple[float, float, int]] = []
    for voice in range(on.shape[1]):
        edges = np.diff(np.concatenate([[0], on[:, voice].astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        spans: list[list[float]] = []
        for first, after in zip(starts, ends, strict=True):
            start = first * step + duration / 2 - step / 2
            end = after * step + duration / 2 - step / 2
            if spans and start - spans[-1][1] < JOIN_PAUSE_SECONDS:
                spans[-1][1] = end
            else:
                spans.append([max(0.0, start), end])
        found += [(float(s), float(e), voice) for s, e in spans if e - s >= MIN_TURN_SECONDS]
    found.sort()
    numbering: dict[int, int] = {}
    return [Turn(s, e, numbering.setdefault(v, len(numbering) + 1)) for s, e, v in found]


def _speech_of(
    audio: np.ndarray, start: float, frames: np.ndarray, activity: LocalActivity
) -> np.ndarray:
    """The samples of a chunk's frames marked in `frames`, runs joined end to end."""
    edges = np.diff(np.concatenate([[0], frames.astype(np.int8), [0]]))
    pieces = []
    for first, after in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        begin = start + first * activity.frame_step
        end = start + (after - 1) * activity.frame_step + activity.frame_duration
        pieces.append(as_float(audio[int(begin * RATE) : int(end * RATE)]))
    return np.concatenate(pieces)
