"""A new session knows every duration it can before anything is fetched."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.runner import create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.samples import SAMPLE_MEDIA


def test_durations_come_from_file_headers_and_listing_metadata(tmp_path: Path) -> None:
    settings = Settings(out_dir=tmp_path)
    specs = [
        ItemSpec(source=str(SAMPLE_MEDIA[0]), source_type=SourceType.LOCAL_FILE),
        ItemSpec(
            source="https://www.youtube.com/watch?v=aaaaaaaaaaa",
            source_type=SourceType.YOUTUBE,
            metadata={"duration": 3600.0},
        ),
        ItemSpec(
            source="https://example.org/ep1.mp3",
            source_type=SourceType.HTTP_MEDIA,
            metadata={"episode_duration": 1800},
        ),
        ItemSpec(source="https://example.org/ep2.mp3", source_type=SourceType.HTTP_MEDIA),
    ]
    with Store(settings.database) as store:
        session = create_session(store, settings, specs)
        durations = [item.duration for item in store.items(session.id)]

    assert 15 < durations[0] < 17
    assert durations[1:] == [3600.0, 1800.0, None]
    assert session.folder.is_dir()
