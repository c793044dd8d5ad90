"""How a count is said in a message: "1 item", "3 items", "1,200 items", "2 entries"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and its noun; `plural` for a noun that does not just add an "s"."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
