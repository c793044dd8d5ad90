"""A batch of worker messages less those a later one makes moot: what the coordinator skips
writing when it falls behind, and what it must still write."""

from __future__ import annotations

from bulk_transcribe.models import Segment, Stage, Transcript
from bulk_transcribe.runner.coalesce import without_moot
from bulk_transcribe.runner.work import ItemError, ItemInfo, Outcome, Progress

TRANSCRIPT = Transcript([Segment(0.0, 1.0, "Hello.")], "en", 1.0, "openai", "whisper-1", "api")


def everything_kept(item_id: int, attempt: int) -> bool:
    return True


def test_only_the_last_bare_progress_of_an_attempt_is_left_and_the_order_is_kept() -> None:
    fetching = Progress(1, 1, stage=Stage.FETCHING)
    info = Progress(1, 1, info=ItemInfo(title="Episode 1", duration=60.0))
    started = Progress(1, 1, stage=Stage.TRANSCRIBING, fraction=0.0)
    other_item = Progress(2, 1, stage=Stage.FETCHING)
    halfway = Progress(1, 1, stage=Stage.TRANSCRIBING, fraction=0.5)
    event = Progress(1, 1, event=("retry", "the provider answered 503"))

    kept = without_moot([fetching, info, started, other_item, halfway, event], everything_kept)

    assert kept == [info, other_item, halfway, event]


def test_progress_before_the_outcome_is_moot_but_another_attempts_is_not() -> None:
    old_attempt = Progress(1, 1, stage=Stage.TRANSCRIBING, fraction=0.9)
    progress = Progress(1, 2, stage=Stage.TRANSCRIBING, fraction=1.0)
    failed = Outcome(1, 2, error=ItemError("http", "404", False))

    assert without_moot([old_attempt, progress, failed], everything_kept) == [old_attempt, failed]


def test_a_pieces_result_is_skipped_only_when_the_transcript_it_belongs_to_will_be_kept() -> None:
    piece = Progress(1, 1, chunk=("whisper-1||0/1|0.000|1.000", '{"text": "Hello."}'))
    done = Outcome(1, 1, transcript=TRANSCRIPT)

    assert without_moot([piece, done], everything_kept) == [done]
    # A lost attempt (timed out, taken over): its outcome is dropped, so its piece is kept.
    assert without_moot([piece, done], lambda item_id, attempt: False) == [piece, done]
    # No transcript in the batch (a failure, or the outcome still to come): kept.
    failed = Outcome(1, 1, error=ItemError("network", "dropped", True))
    assert without_moot([piece, failed], everything_kept) == [piece, failed]
    assert without_moot([piece], everything_kept) == [piece]
