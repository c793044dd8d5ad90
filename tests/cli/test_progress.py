"""The live view: Ctrl-C reaches the run however busy the process is."""

from __future__ import annotations

import gc
import io
import signal
import threading
from pathlib import Path

import pytest
from rich.console import Console

from bulk_transcribe.cli import progress
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.runner import create_session
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store


class InterruptedWhileCollected:
    """Ctrl-C landing while the garbage collector finalises an object: a KeyboardInterrupt
    raised there is printed as "Exception ignored" and lost (this is what load made likely:
    more garbage, more collections in the main thread)."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)


def test_a_ctrl_c_that_lands_in_a_finaliser_still_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert threading.current_thread() is threading.main_thread()
    # Python's own handler, or SIG_IGN where the suite was started in the background by a
    # shell (which ignores SIGINT for its background jobs).
    before = signal.getsignal(signal.SIGINT)
    settings = Settings(out_dir=tmp_path)
    with Store(settings.database) as store:
        session = create_session(
            store, settings, [ItemSpec("https://e.com/a.mp3", SourceType.HTTP_MEDIA)]
        )
        finished = threading.Event()
        presses: list[int] = []
        refreshes = 0
        refresh = progress._LogView.refresh

        def busy_refresh(view: progress._LogView) -> None:
            nonlocal refreshes
            refreshes += 1
            if refreshes == 2:
                InterruptedWhileCollected()  # dropped at once: its finaliser runs here
                gc.collect()
            if refreshes == 4:
                finished.set()  # the run ends on its own (it would have, unstopped)
            refresh(view)

        monkeypatch.setattr(progress._LogView, "refresh", busy_refresh)
        monkeypatch.setattr(progress, "REFRESH_SECONDS", 0.01)
        console = Console(file=io.StringIO(), force_terminal=False)

        progress.watch(console, store, session.id, finished, presses.append)

    assert presses == [1]  # the press reached the run: it stops after the running items
    assert signal.getsignal(signal.SIGINT) is before  # put back
