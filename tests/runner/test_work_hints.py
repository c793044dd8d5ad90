"""An item's vocabulary hints: the session's prompt and the row's own, joined."""

from __future__ import annotations

from bulk_transcribe.runner.work import item_prompt


def test_the_sessions_prompt_and_the_rows_hints_are_joined() -> None:
    assert item_prompt("Kubernetes", "Nguyen, Sweynheim") == "Kubernetes, Nguyen, Sweynheim"
    assert item_prompt(None, " Pannartz ") == "Pannartz"
    assert item_prompt("Subiaco", None) == "Subiaco"


def test_no_hints_is_no_prompt() -> None:
    assert item_prompt(None, None) is None
    assert item_prompt("  ", "") is None
    assert item_prompt(None, 42) is None  # a sheet cell that is not text is not a hint
