"""Found videos as a list `bulk-transcribe run` reads back (CSV) or as JSON for other tools."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bulk_transcribe.outputs.atomic import atomic_write_text
from bulk_transcribe.research.candidates import Candidate

# `run list.csv` takes `url` as the link and `title` as the title; every other column goes
# into each note's frontmatter under its own name.
CSV_COLUMNS = (
    "url",
    "title",
    "channel",
    "upload_date",
    "duration",
    "view_count",
    "has_captions",
    "thumbnail",
    "search_query",
    "relevance",
    "relevance_reason",
)


def csv_text(videos: Sequence[Candidate]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for video in videos:
        meta = video.metadata()
        writer.writerow(
            {
                "url": video.url,
                "title": video.title,
                "duration": int(video.duration) if video.duration is not None else "",
                **{k: _cell(meta.get(k)) for k in CSV_COLUMNS if k in meta},
            }
        )
    return buffer.getvalue()


def json_text(videos: Sequence[Candidate]) -> str:
    return json.dumps([as_json(v) for v in videos], ensure_ascii=False, indent=2) + "\n"


def as_json(video: Candidate) -> dict[str, Any]:
    data = asdict(video)
    data["published"] = video.published.isoformat() if video.published else None
    data.pop("extra", None)
    return data


def write_list(path: Path, videos: Sequence[Candidate]) -> None:
    text = json_text(videos) if path.suffix.lower() == ".json" else csv_text(videos)
    atomic_write_text(path, text)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)
