"""Helpers for executor tests: a batch of the samples as a session, and its outputs."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.models import ItemSpec, Session, SourceType
from bulk_transcribe.runner import create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store

COMPARED = ("txt", "srt", "vtt")  # the transcript itself, free of run-specific metadata


def sample_session(out: Path, media: list[Path], **overrides) -> tuple[Store, Session, Settings]:
    settings = Settings(out_dir=out, formats="md,txt,srt,vtt", **overrides)
    store = Store(settings.database)
    specs = [ItemSpec(source=str(p), source_type=SourceType.LOCAL_FILE) for p in media]
    return store, create_session(store, settings, specs), settings


def transcript_files(folder: Path) -> dict[str, str]:
    """Every output that holds the transcript, by file name; notes without their frontmatter."""
    files = {
        p.name: p.read_text(encoding="utf-8") for ext in COMPARED for p in folder.glob(f"*.{ext}")
    }
    for note in folder.glob("*.md"):
        files[note.name] = note.read_text(encoding="utf-8").split("---", 2)[2]
    return files
