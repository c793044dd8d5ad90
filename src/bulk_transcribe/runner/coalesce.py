"""Messages a later one of the same batch makes moot, left out before the coordinator writes.

The coordinator writes the store once per message, on one thread; when items finish faster
than it writes (hundreds a second, or a slow disk), the messages wait and arrive in batches,
several per item. Of an item's bare progress updates only the last is ever seen, and a
piece's result is stored so a crash cannot lose it until the item's transcript is kept,
which the item's outcome in the same batch does at once. Leaving those out keeps the writes
per item from growing as the coordinator falls behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bulk_transcribe.runner.work import Message, Outcome, Progress


def bare_progress(message: Message) -> bool:
    """A progress message that only moves the stage or the fraction done."""
    return isinstance(message, Progress) and (
        message.info is None
        and message.request_id is None
        and message.event is None
        and message.rate_limited is None
        and message.chunk is None
    )


def without_moot(
    messages: Sequence[Message], keeps_transcript: Callable[[int, int], bool]
) -> list[Message]:
    """`messages` in order, less each bare progress update followed in the batch by another
    or by the outcome of the same attempt, and less each piece's result when the batch holds
    the attempt's transcript and `keeps_transcript(item_id, attempt)` says it will be kept."""
    superseded_until: dict[tuple[int, int], int] = {}  # the last progress or outcome, by attempt
    transcripts: set[tuple[int, int]] = set()
    for index, message in enumerate(messages):
        attempt = (message.item_id, message.attempt)
        if isinstance(message, Outcome) or bare_progress(message):
            superseded_until[attempt] = index
        if isinstance(message, Outcome) and message.transcript is not None:
            transcripts.add(attempt)
    kept: list[Message] = []
    for index, message in enumerate(messages):
        attempt = (message.item_id, message.attempt)
        if bare_progress(message) and superseded_until[attempt] > index:
            continue
        if _chunk_only(message) and attempt in transcripts and keeps_transcript(*attempt):
            continue
        kept.append(message)
    return kept


def _chunk_only(message: Message) -> bool:
    """A piece's result and nothing else."""
    return (
        isinstance(message, Progress)
        and message.chunk is not None
        and message == Progress(message.item_id, message.attempt, chunk=message.chunk)
    )
