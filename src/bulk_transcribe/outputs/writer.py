"""Write one item's transcript into its session folder in every chosen format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import Item, Transcript
from bulk_transcribe.outputs.atomic import atomic_write_text, write_unless_edited
from bulk_transcribe.outputs.markdown import build_frontmatter, render_markdown
from bulk_transcribe.outputs.naming import output_stem, safe_filename
from bulk_transcribe.outputs.plain import render_json, render_txt
from bulk_transcribe.outputs.subtitles import render_srt, render_vtt

Renderer = Callable[[dict[str, Any], Transcript], str]

RENDERERS: dict[str, Renderer] = {
    "md": render_markdown,
    "srt": lambda _frontmatter, transcript: render_srt(transcript),
    "vtt": lambda _frontmatter, transcript: render_vtt(transcript),
    "json": render_json,
    "txt": lambda _frontmatter, transcript: render_txt(transcript),
}


def write_item_outputs(
    folder: Path,
    stem: str,
    formats: Sequence[str],
    frontmatter: dict[str, Any],
    transcript: Transcript,
    *,
    kept: list[Path] | None = None,
) -> list[Path]:
    """The item's files in every chosen format. With `kept` (a list to fill), a file that
    differs from what would be written now is taken for edited and kept as it is, and named
    in `kept` (outputs/atomic.write_unless_edited); without it every file is written."""
    chosen = list(dict.fromkeys(f.strip().lower().lstrip(".") for f in formats))
    unknown = [f for f in chosen if f not in RENDERERS]
    if unknown:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"unknown output format(s) {', '.join(unknown)}; choose from {', '.join(RENDERERS)}",
        )
    # Render everything before writing anything, so a rendering bug leaves no partial set.
    rendered = [(fmt, RENDERERS[fmt](frontmatter, transcript)) for fmt in chosen]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt, text in rendered:
        path = folder / safe_filename(f"{stem}.{fmt}")
        if kept is None:
            atomic_write_text(path, text)
        elif not write_unless_edited(path, text):
            kept.append(path)
        paths.append(path)
    return paths


def write_transcript_files(
    folder: Path,
    *,
    session_id: str,
    item: Item,
    transcript: Transcript,
    transcribed_at: datetime,
    formats: Sequence[str],
    kept: list[Path] | None = None,
) -> list[str]:
    """Every chosen file of one finished item; returns their paths relative to `folder`.
    With `kept`, files edited since they were written are kept (write_item_outputs)."""
    frontmatter = build_frontmatter(
        item=item, transcript=transcript, session_id=session_id, transcribed_at=transcribed_at
    )
    stem = output_stem(item.display_title, item.key)
    paths = write_item_outputs(folder, stem, formats, frontmatter, transcript, kept=kept)
    return [str(Path(p).relative_to(folder)) for p in paths]
