"""The Search transcripts page, run by Streamlit's AppTest over a store of real sessions."""

from __future__ import annotations

import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bulk_transcribe.store import Store
from bulk_transcribe.web.launch import app_path
from tests.samples import SAMPLE_MEDIA
from tests.store.sessions import SegmentsEngine, local_specs, transcribe

APP = str(app_path())
PAGE = "pages/05_Search_Transcripts.py"
SCRIPT = {
    "harbour": [(0.0, 3.0, "Boats came in."), (75.0, 80.0, "The lighthouse keeper waved.")],
    "orchard": [(0.0, 4.0, "Apples and a lighthouse-shaped café.")],
}


def search_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).switch_page(PAGE).run()


def test_a_phrase_shows_hits_with_highlights_and_links(out_dir: Path, store: Store) -> None:
    media = out_dir.parent / "media"
    media.mkdir()
    for name in SCRIPT:
        shutil.copy(SAMPLE_MEDIA[0], media / f"{name}.wav")
    transcribe(store, out_dir, local_specs(sorted(media.iterdir())), SegmentsEngine(SCRIPT))

    app = search_page()
    app.text_input(key="transcript-query").input("lighthouse").run()
    markdown = "\n".join(m.value for m in app.markdown)
    assert "<mark>lighthouse</mark> keeper waved" in markdown
    assert "file://" not in markdown  # a dead link in a browser: the app plays it instead
    assert "▶ 1:15" in [button.label for button in app.button]
    assert "Apples and a <mark>lighthouse</mark>-shaped café." in markdown

    app.text_input(key="transcript-query").input('"keeper waved" OR cafe').run()
    assert sum("<mark>" in m.value for m in app.markdown) == 2
    app.text_input(key="transcript-source").input("orchard").run()
    assert sum("<mark>" in m.value for m in app.markdown) == 1


def test_no_match_and_no_store_yet_say_so(out_dir: Path) -> None:
    app = search_page()
    app.text_input(key="transcript-query").input("anything").run()
    assert not app.exception
    assert "No match in 0 transcripts." in [i.value for i in app.info]
