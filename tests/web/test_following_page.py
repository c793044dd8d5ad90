"""The Following page, run by Streamlit's AppTest: follow a feed served on 127.0.0.1, check it
now in a process of its own, see when it was checked and what was new, unfollow."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bulk_transcribe.service.follow import followed
from bulk_transcribe.store import Store
from bulk_transcribe.web.launch import app_path
from tests.sources.feeds import rss_feed
from tests.sources.media_server import Route, running_server

APP = str(app_path())
PAGE = "pages/06_Following.py"


def following_page() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).switch_page(PAGE).run()


def texts(app: AppTest) -> str:
    return "\n".join(m.value for m in [*app.markdown, *app.info, *app.success, *app.warning])


def test_follow_check_now_and_unfollow(out_dir: Path, store: Store) -> None:
    with running_server() as server:
        feed = server.add("/quiet.rss", Route(rss_feed("Quiet Show", []), "application/rss+xml"))
        app = following_page()
        assert "Nothing followed yet." in texts(app)

        app.text_input(key="follow-url").input(feed)
        app.number_input(key="follow-latest").set_value(3)
        app.button[0].click().run()  # the form's Follow
        assert f"Following {feed}" in texts(app)
        assert "Last checked: never" in texts(app) and "latest 3" in texts(app)

        app.button(key="follow-check-now").click().run()
        assert "Checking in process" in texts(app)
        log = out_dir / "update.log"
        deadline = time.monotonic() + 120
        while "Nothing new." not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, log.read_text() if log.exists() else "no log"
            time.sleep(0.2)
        app.run()
        assert "Quiet Show" in texts(app) and "0 new of 0" in texts(app)

        app.button(key=f"unfollow-{followed(store)[0].id}").click().run()
        assert followed(store) == []


def test_what_cannot_be_followed_is_explained(out_dir: Path) -> None:
    app = following_page()
    app.text_input(key="follow-url").input("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    app.button[0].click().run()
    assert any("one video" in w.value for w in app.warning)
