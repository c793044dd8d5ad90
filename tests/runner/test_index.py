"""manifest.json keeps the entries of the input that never became items."""

from __future__ import annotations

import json
from pathlib import Path

from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.runner import create_session
from bulk_transcribe.runner.index import write_outputs_index
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.samples import SAMPLE_MEDIA


def test_the_manifest_lists_the_input_entries_that_could_not_be_used(tmp_path: Path) -> None:
    """They were only printed before the run: once the terminal was gone, nothing in the
    session folder said that two rows of the sheet were never transcribed."""
    settings = Settings(out_dir=tmp_path)
    specs = [ItemSpec(source=str(SAMPLE_MEDIA[0]), source_type=SourceType.LOCAL_FILE)]
    notes = [
        ("expanded", "podcast feed Garden Talk: 3 of 4 items kept"),
        ("invalid_input", "list.csv row 3: unsupported URL scheme 'ftp': ftp://e.com/a.mp3"),
        ("invalid_input", "feed, episode #4: episode has no audio file: Trailer"),
    ]
    with Store(settings.database) as store:
        session = create_session(store, settings, specs, notes)
        store.add_event(session.id, "retry", "1 failed item re-queued")  # the run's own log
        store.add_event(session.id, "invalid_input", "logged later: not one of the input's")
        write_outputs_index(store, session.id)
    manifest = json.loads((session.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input_problems"] == [
        "list.csv row 3: unsupported URL scheme 'ftp': ftp://e.com/a.mp3",
        "feed, episode #4: episode has no audio file: Trailer",
    ]
