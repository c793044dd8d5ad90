"""Files written into a session folder from a Transcript: transcripts, subtitles, manifest.

Names are imported on first use (PEP 562): `status` reads one constant of the manifest
without loading the renderers (Markdown links pull in the sources and httpx).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "atomic_write_bytes": "atomic",
    "atomic_write_text": "atomic",
    "build_frontmatter": "markdown",
    "output_stem": "naming",
    "render_json": "plain",
    "render_markdown": "markdown",
    "render_srt": "subtitles",
    "render_txt": "plain",
    "render_vtt": "subtitles",
    "safe_filename": "naming",
    "slugify": "naming",
    "write_item_outputs": "writer",
    "write_items_csv": "manifest",
    "write_manifest": "manifest",
    "write_transcript_files": "writer",
}
__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "build_frontmatter",
    "output_stem",
    "render_json",
    "render_markdown",
    "render_srt",
    "render_txt",
    "render_vtt",
    "safe_filename",
    "slugify",
    "write_item_outputs",
    "write_items_csv",
    "write_manifest",
    "write_transcript_files",
]

if TYPE_CHECKING:
    from bulk_transcribe.outputs.atomic import atomic_write_bytes, atomic_write_text
    from bulk_transcribe.outputs.manifest import write_items_csv, write_manifest
    from bulk_transcribe.outputs.markdown import build_frontmatter, render_markdown
    from bulk_transcribe.outputs.naming import output_stem, safe_filename, slugify
    from bulk_transcribe.outputs.plain import render_json, render_txt
    from bulk_transcribe.outputs.subtitles import render_srt, render_vtt
    from bulk_transcribe.outputs.writer import write_item_outputs, write_transcript_files


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
