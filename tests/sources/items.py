"""Items and fetch contexts as the runner would hand them to a source."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.models import Item, ItemStatus, SourceType, Stage
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.base import FetchContext


def make_item(source: str, source_type: SourceType, title: str | None = None) -> Item:
    return Item(
        id=1,
        session_id="s",
        position=1,
        key="k",
        source=source,
        source_type=source_type,
        title=title,
        metadata={},
        origin=None,
        status=ItemStatus.RUNNING,
        stage=Stage.FETCHING,
        progress=0.0,
        duration=None,
        method=None,
        language=None,
        attempts=1,
        error_kind=None,
        error_message=None,
        outputs=[],
        started_at=None,
        finished_at=None,
        updated_at=None,
    )


def make_context(
    settings: Settings, cache_dir: Path, engine_accepts_urls: bool = False
) -> FetchContext:
    return FetchContext(
        settings=settings,
        cache_dir=cache_dir,
        check_cancelled=lambda: None,
        engine_accepts_urls=engine_accepts_urls,
    )
