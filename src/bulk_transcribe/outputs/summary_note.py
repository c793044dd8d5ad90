"""A note with its summary: summary, key points and chapters (times linked to the moment)
in the YAML front matter and above the transcript."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bulk_transcribe.models import Item, Summary, Transcript
from bulk_transcribe.outputs.atomic import atomic_write_text, write_unless_edited
from bulk_transcribe.outputs.markdown import build_frontmatter, render_markdown, yaml_safe
from bulk_transcribe.outputs.moments import moment_clock as clock
from bulk_transcribe.outputs.moments import moment_url


def summary_frontmatter(summary: Summary, item: Item) -> dict[str, Any]:
    return yaml_safe(
        {
            "summary": summary.text,
            "key_points": summary.key_points,
            "chapters": [
                {
                    "time": clock(c.start),
                    "start_seconds": round(c.start, 1),
                    "title": c.title,
                    "link": moment_url(item.source, item.source_type, c.start),
                }
                for c in summary.chapters
            ],
            "summary_model": summary.model,
        }
    )


def summary_sections(summary: Summary, item: Item) -> str:
    parts = ["## Summary", summary.text]
    if summary.key_points:
        parts += ["## Key points", "\n".join(f"- {point}" for point in summary.key_points)]
    if summary.chapters:
        lines = [
            f"- [{clock(c.start)}]({moment_url(item.source, item.source_type, c.start)}) {c.title}"
            for c in summary.chapters
        ]
        parts += ["## Chapters", "\n".join(lines)]
    parts.append("## Transcript")
    return "\n\n".join(parts) + "\n\n"


def render_summarised_note(
    *, item: Item, transcript: Transcript, session_id: str, transcribed_at: datetime,
    summary: Summary,
) -> str:  # fmt: skip
    frontmatter = build_frontmatter(
        item=item, transcript=transcript, session_id=session_id, transcribed_at=transcribed_at
    )
    frontmatter.update(summary_frontmatter(summary, item))  # ours, over any metadata's
    note = render_markdown(frontmatter, transcript)
    # After the "# Title" line that follows the front matter.
    title_at = note.index("---\n\n# ") + len("---\n\n")
    body_at = note.index("\n\n", title_at) + 2
    return note[:body_at] + summary_sections(summary, item) + note[body_at:]


def write_summarised_note(
    folder: Path, *, item: Item, transcript: Transcript, session_id: str,
    transcribed_at: datetime, summary: Summary, overwrite: bool = False,
) -> Path | None:  # fmt: skip
    """Rewrite the item's note with its summary; None when the session writes no notes.
    A note edited since it was written (it reads neither as written without a summary nor
    as it would with this one) is kept as it is, unless `overwrite`: NoteEdited."""
    note = next((p for p in item.outputs if p.endswith(".md")), None)
    if note is None:
        return None
    path = folder / note
    text = render_summarised_note(
        item=item,
        transcript=transcript,
        session_id=session_id,
        transcribed_at=transcribed_at,
        summary=summary,
    )
    if overwrite:
        atomic_write_text(path, text)
        return path
    frontmatter = build_frontmatter(
        item=item, transcript=transcript, session_id=session_id, transcribed_at=transcribed_at
    )
    if not write_unless_edited(path, text, was=render_markdown(frontmatter, transcript)):
        raise NoteEdited(path)
    return path


class NoteEdited(Exception):
    """The note was changed since it was written, so it was not rewritten."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path.name} was edited since it was written; kept as it is")
        self.path = path
