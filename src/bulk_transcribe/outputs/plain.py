"""Machine-readable JSON and plain text renderings of a transcript."""

from __future__ import annotations

import json
from typing import Any

from bulk_transcribe.models import Segment, Transcript
from bulk_transcribe.outputs.paragraphs import split_paragraphs


def render_json(frontmatter: dict[str, Any], transcript: Transcript) -> str:
    document = {
        "metadata": frontmatter,
        "text": transcript.text,
        "segments": [_segment_json(s) for s in transcript.segments],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"


def _segment_json(segment: Segment) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "text": segment.text.strip(),
    }
    if segment.speaker is not None:
        entry["speaker"] = f"Speaker {segment.speaker}"
    return entry


def render_txt(transcript: Transcript) -> str:
    paragraphs = split_paragraphs(transcript)
    return "\n\n".join(paragraphs) + "\n" if paragraphs else ""
