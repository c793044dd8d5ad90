"""Files written into a session folder from a Transcript: transcripts, subtitles, manifest."""

from bulk_transcribe.outputs.atomic import atomic_write_bytes, atomic_write_text
from bulk_transcribe.outputs.manifest import write_items_csv, write_manifest
from bulk_transcribe.outputs.markdown import build_frontmatter, render_markdown
from bulk_transcribe.outputs.naming import output_stem, safe_filename, slugify
from bulk_transcribe.outputs.plain import render_json, render_txt
from bulk_transcribe.outputs.subtitles import render_srt, render_vtt
from bulk_transcribe.outputs.writer import write_item_outputs, write_transcript_files

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
