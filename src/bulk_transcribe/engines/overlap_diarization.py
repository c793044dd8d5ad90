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
   merged), with thresholds of their own. Then each STRETCH of a local speaker (an unbroken
   run of its activity) gets a print of its own and a voice: the segmentation model often
   takes two similar voices of one chunk for one local speaker, whose whole print would give
   both one voice. Stretches of a chunk that overlap in time are two voices (one to one);
   others take their nearest voice. (STRETCHES False: each local speaker is matched whole,
   the local speakers of a chunk one to one.)
4. Per frame, the segmentation says how many talk (averaged over the chunks that cover it);
   that many voices with the highest activation over those chunks are taken. Turns of
   different voices may overlap; diarization.speaker_at picks who talks most over a word.
5. Speech that Silero finds (diarization.speech_regions) and no voice holds goes to the
   nearest voice of its region: the segmentation leaves pauses inside a turn and quiet
   speech to no one.

Measured beside the window path (benchmarks/README.md, "Local speaker segmentation" and "One
print per stretch"): better on real recordings with overlap; on constructed conversations of
similar voices, worse before the stretches.
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
from bulk_transcribe.engines.segmentation import (
    RATE,
    LocalActivity,
    load_segmentation,
    speakers_heard,
)

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
# One print per STRETCH (an unbroken run of a local speaker's activity) to label with, besides
# the one per local speaker that the voices are counted from: the segmentation model often
# takes two similar voices of one 10 s chunk for one local speaker, and its whole print then
# gives both the same voice. Stretches of one chunk that overlap in time are two voices
# (assigned one to one); stretches that do not may share a voice. Counting from the stretches'
# own prints counted worse on dev (benchmarks/README.md, "One print per stretch").
STRETCHES = True
HAMMING = True  # a chunk's middle frames weigh more than its edges (pyannote's aggregation)
# CAM++ prints of local speakers, chosen on the dev half only (benchmarks/README.md).
SEGMENT_COUNT = CountThresholds(0.375, 0.24, 2, 0.02)

Owner = tuple[int, int, int, int]  # (chunk, local speaker, first frame, frame after)


@dataclass(frozen=True)
class LocalPrints:
    """The costly half: the segmentation and a print per printed local speaker, or per
    printed stretch of one (then `counting` holds the local speakers' prints)."""

    activity: LocalActivity
    # (chunk, local speaker, first frame, frame after) of each print: a whole local speaker
    # (0, frames) or one of its stretches.
    owners: list[Owner]
    embeddings: np.ndarray  # (prints, 192), unit rows
    counted: np.ndarray  # (prints,) bool: enough clean speech to count voices with
    seconds: float  # the recording's length
    # Silero's speech regions (diarization.speech_regions): speech the segmentation left to
    # no one goes to the nearest voice of its region.
    speech: tuple[tuple[float, float], ...] = ()
    stretches: bool = False  # a print per stretch (STRETCHES), else per local speaker
    # With stretches: the local speakers' prints the voices are counted from.
    counting: np.ndarray | None = None


def diarize_overlapping(
    audio: np.ndarray, speakers: int | None, encoder: CamPlusPlusEncoder
) -> list[Turn]:
    """Speaker turns in 16 kHz mono `audio` (overlapping where two talk at once); `speakers`
    None means find how many. `encoder`: CAM++ (it embeds pieces of any length)."""
    return turns_of_local(local_prints(audio, encoder), speakers)


def local_prints(
    audio: np.ndarray,
    encoder: CamPlusPlusEncoder,
    step: float = STEP_SECONDS,
    stretches: bool = STRETCHES,
) -> LocalPrints:
    """Segment `audio` and print every local speaker (or, with `stretches`, every stretch of
    one) with enough clean speech. `encoder` must embed pieces of audio
    (CamPlusPlusEncoder.embed_pieces)."""
    activity = load_segmentation().activity(audio, step)
    return prints_of_activity(audio, activity, tuple(speech_regions(audio)), encoder, stretches)


def prints_of_activity(
    audio: np.ndarray,
    activity: LocalActivity,
    speech: tuple[tuple[float, float], ...],
    encoder: CamPlusPlusEncoder,
    stretches: bool = STRETCHES,
) -> LocalPrints:
    """local_prints' second half, on a segmentation already made (the benchmarks print the
    same segmentation both ways). With `stretches`, a print per local speaker to count the
    voices with and one per stretch to label with."""
    whole = _printed(activity, stretches=False)
    parts = _printed(activity, stretches=True) if stretches else []
    if stretches:
        # A local speaker whose stretches are all too short to print keeps its whole print.
        has_stretch = {owner[:2] for owner, _, _ in parts}
        parts += [job for job in whole if job[0][:2] not in has_stretch]
    jobs = whole + parts
    embeddings = np.zeros((len(jobs), EMBEDDING_SIZE), dtype=np.float32)
    # The pieces are cut PIECES_AT_ONCE at a time: a two-hour recording's would be gigabytes.
    for first in range(0, len(jobs), PIECES_AT_ONCE):
        pieces = [
            _speech_of(audio, activity.starts[owner[0]], frames, activity)
            for owner, frames, _ in jobs[first : first + PIECES_AT_ONCE]
        ]
        embeddings[first : first + len(pieces)] = encoder.embed_pieces(pieces)
    seconds = len(audio) / RATE
    counted = np.array([job[2] for job in jobs], bool)
    if not stretches:
        return LocalPrints(
            activity, [job[0] for job in whole], embeddings, counted, seconds, speech
        )
    n = len(whole)
    return LocalPrints(
        activity,
        [job[0] for job in parts],
        embeddings[n:],
        counted[n:],
        seconds,
        speech,
        stretches=True,
        counting=_counting(embeddings[:n], counted[:n]),
    )


def _printed(activity: LocalActivity, stretches: bool) -> list[tuple[Owner, np.ndarray, bool]]:
    """(owner, frames to print, counted) of every local speaker, or every stretch of one,
    with enough speech to print."""
    jobs = []
    alone = activity.active.sum(axis=2) == 1
    for chunk in range(len(activity.starts)):
        for speaker in range(activity.active.shape[2]):
            talks = activity.active[chunk, :, speaker]
            for first, after in _runs(talks) if stretches else [(0, len(talks))]:
                part = np.zeros_like(talks)
                part[first:after] = talks[first:after]
                clean = part & alone[chunk]
                # Where nobody else talks, if there is enough of it (pyannote's choice
                # too); else all of the speaker's speech.
                frames = clean if clean.sum() * activity.frame_step >= MIN_PRINT_SECONDS else part
                seconds = frames.sum() * activity.frame_step
                if seconds >= MIN_ASSIGN_SECONDS:
                    owner = (chunk, speaker, first, after)
                    jobs.append((owner, frames, bool(seconds >= MIN_PRINT_SECONDS)))
    return jobs


def _runs(talks: np.ndarray) -> list[tuple[int, int]]:
    """(first frame, frame after) of each unbroken run of True in `talks`."""
    edges = np.diff(np.concatenate([[0], talks.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def turns_of_local(
    prints: LocalPrints, speakers: int | None, thresholds: CountThresholds = SEGMENT_COUNT
) -> list[Turn]:
    """The turns of the recording's voices from its local prints (the cheap half)."""
    if not prints.owners:
        return []
    counting = prints.counting
    if counting is None:
        counting = _counting(prints.embeddings, prints.counted)
    voices = _voices(counting, speakers, thresholds)
    assign = _assign_stretches if prints.stretches else _assign
    return _reconstruct(prints, assign(prints, voices), len(voices))


def _counting(embeddings: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """The prints voices are counted from: those with enough clean speech, else all."""
    return embeddings[counted] if counted.any() else embeddings


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


def _assign(prints: LocalPrints, voices: np.ndarray) -> dict[Owner, int]:
    """Print's owner -> voice: within a chunk one to one, the most similar overall
    (Hungarian assignment); a local speaker left over when a chunk has more of them than
    there are voices gets none."""
    similarity = prints.embeddings @ voices.T
    assignment = {}
    for rows in _rows_per_chunk(prints).values():
        assignment |= _one_to_one(prints, rows, similarity)
    return assignment


def _assign_stretches(prints: LocalPrints, voices: np.ndarray) -> dict[Owner, int]:
    """Stretch -> voice: stretches of one chunk that overlap in time are matched one to one
    (Hungarian assignment over each group of stretches that all overlap); the others each
    take their nearest voice, or, where that would give two overlapping stretches the same
    voice, the nearest one their overlapping neighbours (longer ones first) left free."""
    similarity = prints.embeddings @ voices.T
    assignment: dict[Owner, int] = {}
    for rows in _rows_per_chunk(prints).values():
        for group in _overlapping_groups(prints, rows):
            if len(group) == 1:
                assignment[prints.owners[group[0]]] = int(np.argmax(similarity[group[0]]))
            elif _all_overlap(prints, group):
                assignment |= _one_to_one(prints, group, similarity)
            else:
                assignment |= _greedy(prints, group, similarity)
    return assignment


def _rows_per_chunk(prints: LocalPrints) -> dict[int, list[int]]:
    rows_of: dict[int, list[int]] = {}
    for row, owner in enumerate(prints.owners):
        rows_of.setdefault(owner[0], []).append(row)
    return rows_of


def _one_to_one(prints: LocalPrints, rows: list[int], similarity: np.ndarray) -> dict:
    from scipy.optimize import linear_sum_assignment

    picked, voice = linear_sum_assignment(-similarity[rows])
    return {prints.owners[rows[i]]: int(v) for i, v in zip(picked, voice, strict=True)}


def _overlap(first: Owner, second: Owner) -> bool:
    return first[2] < second[3] and second[2] < first[3]


def _all_overlap(prints: LocalPrints, rows: list[int]) -> bool:
    owners = [prints.owners[row] for row in rows]
    return all(_overlap(a, b) for i, a in enumerate(owners) for b in owners[i + 1 :])


def _overlapping_groups(prints: LocalPrints, rows: list[int]) -> list[list[int]]:
    """The chunk's stretches in groups linked by overlaps in time (connected components)."""
    groups: list[list[int]] = []
    for row in rows:
        linked = [
            g for g in groups if any(_overlap(prints.owners[row], prints.owners[r]) for r in g)
        ]
        merged = [row] + [r for g in linked for r in g]
        groups = [g for g in groups if g not in linked] + [merged]
    return groups


def _greedy(prints: LocalPrints, rows: list[int], similarity: np.ndarray) -> dict:
    """Longest stretch first, each its nearest voice that no stretch overlapping it took (its
    nearest if none is left). A chain of overlaps is not one group of simultaneous voices, so
    the Hungarian assignment over all of it would keep apart stretches that never meet."""
    taken: dict[int, int] = {}
    for row in sorted(rows, key=lambda r: prints.owners[r][2] - prints.owners[r][3]):
        used = {v for r, v in taken.items() if _overlap(prints.owners[row], prints.owners[r])}
        order = np.argsort(-similarity[row])
        free = [int(v) for v in order if int(v) not in used]
        taken[row] = free[0] if free else int(order[0])
    return {prints.owners[row]: voice for row, voice in taken.items()}


def _reconstruct(prints: LocalPrints, assignment: dict[Owner, int], voices: int) -> list[Turn]:
    activity = prints.activity
    chunks, frames, _ = activity.active.shape
    total = int(np.ceil(prints.seconds / activity.frame_step)) + 1
    offsets = np.rint(activity.starts / activity.frame_step).astype(int)
    score = np.zeros((total, voices), dtype=np.float32)
    covered = np.zeros(total, dtype=np.float32)
    weight = np.hamming(frames).astype(np.float32) if HAMMING else np.ones(frames, np.float32)
    per_chunk: dict[int, list[tuple[int, int, int, int]]] = {}
    for (chunk, speaker, first, after), voice in assignment.items():
        per_chunk.setdefault(chunk, []).append((speaker, first, after, voice))
    for chunk in range(chunks):
        span = slice(offsets[chunk], min(offsets[chunk] + frames, total))
        length = span.stop - span.start
        local = activity.active[chunk, :length]
        covered[span] += weight[:length]
        for speaker, labels in _frame_voices(per_chunk.get(chunk, []), frames).items():
            for voice in np.unique(labels[labels >= 0]):
                mine = local[:, speaker] & (labels[:length] == voice)
                score[span, voice] += mine * weight[:length]
    covered = np.maximum(covered, 1e-3)
    count = speakers_heard(activity, total, HAMMING)
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


def _frame_voices(assigned: list[tuple[int, int, int, int]], frames: int) -> dict[int, np.ndarray]:
    """Local speaker -> each frame's voice (-1: none) from the chunk's assigned prints
    (speaker, first frame, frame after, voice). A frame between them (a stretch too short
    to print) takes the voice of the speaker's nearest assigned frame."""
    labels: dict[int, np.ndarray] = {}
    for speaker, first, after, voice in assigned:
        labels.setdefault(speaker, np.full(frames, -1))[first:after] = voice
    for label in labels.values():
        known = np.flatnonzero(label >= 0)
        empty = np.flatnonzero(label < 0)
        if len(empty):
            after = np.clip(np.searchsorted(known, empty), 0, len(known) - 1)
            before = np.clip(after - 1, 0, len(known) - 1)
            closer = np.abs(known[before] - empty) <= np.abs(known[after] - empty)
            label[empty] = label[np.where(closer, known[before], known[after])]
    return labels


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
