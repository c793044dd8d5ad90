"""Real sessions for search tests: the runner writes a real store and real transcript files."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.engines import EngineJob
from bulk_transcribe.engines.base import EngineBase
from bulk_transcribe.models import ItemSpec, MediaFile, Segment, SourceType, Transcript
from bulk_transcribe.runner import Runner, create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store


class SegmentsEngine(EngineBase):
    """Hears, in each file, the segments scripted for its name: for text no model would say
    (accents, rare words) and for stores too large to transcribe in a test."""

    name = "scripted"
    model = "script"

    def __init__(self, script: dict[str, list[tuple[float, float, str]]]):
        self.script = script

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        job.on_progress(1.0)
        segments = [Segment(a, b, text) for a, b, text in self.script[media.path.stem]]
        return Transcript(
            segments=segments,
            language="en",
            duration=segments[-1].end if segments else 0.0,
            engine=self.name,
            model=self.model,
            method="scripted",
        )


def transcribe(
    store: Store,
    out: Path,
    specs: list[ItemSpec],
    engine: object | None = None,
    formats: str = "md,json",
) -> str:
    """Create and run a session to its end; returns its id."""
    settings = Settings(out_dir=out, db_path=store.path, formats=formats)
    session = create_session(store, settings, specs)
    Runner(store, session.id, settings, engine=engine).run()  # type: ignore[arg-type]
    return session.id


def local_specs(paths: list[Path]) -> list[ItemSpec]:
    return [ItemSpec(source=str(p), source_type=SourceType.LOCAL_FILE) for p in paths]


def make_transcript(segments: list[tuple[float, float, str]]) -> Transcript:
    return Transcript(
        segments=[Segment(a, b, text) for a, b, text in segments],
        language="en",
        duration=segments[-1][1],
        engine="scripted",
        model="script",
        method="scripted",
    )
