"""Machine-readable JSON and plain text renderings of a transcript."""

from __future__ import annotations

import json
from typing import Any

from bulk_transcribe.models import Transcript
from bulk_transcribe.outputs.paragraphs import split_paragraphs


def render_json(frontmatter: dict[str, Any], transcript: Transcript) -> str:
    document = {
        "metadata": frontmatter,
        "text": transcript.text,
        "segments": [
            {"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text.strip()}
            for s in transcript.segments
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"


def render_txt(transcript: Transcript) -> str:
    paragraphs = split_paragraphs(transcript)
    return "\n\n".join(paragraphs) + "\n" if paragraphs else ""
