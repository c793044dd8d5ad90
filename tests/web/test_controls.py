"""Run controls: who is working on a session, and commands that go through the store."""

from __future__ import annotations

from bulk_transcribe.ingest import load_inputs
from bulk_transcribe.models import SessionStatus
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.controls import (
    request_concurrency_change,
    run_state,
    start_new_session,
    start_once,
    status_badge,
)
from bulk_transcribe.web.state.runs import DetachedRuns, secret_environment
from tests.sources.feeds import FeedEpisode, day, rss_feed
from tests.sources.media_server import Route, running_server
from tests.web.conftest import make_session, pretend_running


def test_a_session_is_active_while_its_owner_lives_and_shows_stopped_after(
    store: Store,
) -> None:
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"])
    runs = DetachedRuns(store)
    with pretend_running(store, session_id):  # e.g. the CLI runs it
        assert runs.alive(store.get_session(session_id))
    after = store.get_session(session_id)
    assert not runs.alive(after)


def test_a_session_left_running_by_a_crash_reads_as_stopped_and_resumable(
    store: Store,
) -> None:
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"], status=SessionStatus.RUNNING)
    session = store.get_session(session_id)  # marked running, but nobody owns it
    state = run_state(session, DetachedRuns(store))
    assert not state.active
    assert status_badge(session, state)[1] == "stopped: resumable"


def test_keys_typed_in_the_browser_reach_the_job_through_its_environment_only() -> None:
    settings = Settings(deapi_api_key="typed-key")
    assert secret_environment(settings) == {"BULK_TRANSCRIBE_DEAPI_API_KEY": "typed-key"}
    assert "typed-key" not in str(settings.public_dict())


def test_turning_parallel_on_and_off_asks_the_store_and_says_so(store: Store) -> None:
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"], concurrency=4)

    request_concurrency_change(store, session_id, parallel=False, concurrency=4)
    assert store.requested_concurrency(session_id) == 1
    request_concurrency_change(store, session_id, parallel=True, concurrency=6)
    assert store.requested_concurrency(session_id) == 6

    messages = [e.message for e in store.events(session_id) if e.kind == "concurrency"]
    assert "turned off" in messages[0] and "concurrency set to 6" in messages[1]


class _RecordingJobs:
    """Stands in for the JobManager: remembers what it was asked to run."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, session_id: str, settings: Settings, links: object = None) -> bool:
        self.started.append(session_id)
        return True


def test_a_pasted_feed_is_expanded_into_its_episodes_when_the_session_starts(
    store: Store, tmp_path
) -> None:
    with running_server() as server:
        episodes = [
            FeedEpisode(f"Episode {n}", day(2024, 1, n), server.url(f"/ep{n}.mp3"))
            for n in (1, 2, 3)
        ]
        feed = server.add("/show.rss", Route(rss_feed("Show", episodes), "application/rss+xml"))
        settings = Settings(out_dir=tmp_path, latest=2)
        ingested = load_inputs([feed])
        jobs = _RecordingJobs()

        session = start_new_session(store, jobs, settings, ingested)

    titles = [item.title for item in store.items(session.id)]
    assert titles == ["Episode 3", "Episode 2"]
    assert jobs.started == [session.id]
    assert any(e.kind == "expanded" for e in store.events(session.id))


class _WatchedJobs(_RecordingJobs):
    """Remembers, at each start, which sessions the tab already watched."""

    def __init__(self, watched: list[str]) -> None:
        super().__init__()
        self.watched = watched
        self.watched_at_start: list[list[str]] = []

    def start(self, session_id: str, settings: Settings, links: object = None) -> bool:
        self.watched_at_start.append(list(self.watched))
        return super().start(session_id, settings, links)

    def alive(self, session: object) -> bool:
        return True  # the job started by the first click runs


def test_the_tab_watches_a_new_session_before_its_job_is_launched(
    store: Store, tmp_path, sample_media
) -> None:
    """Launching waits for the job to own the session; a rerun asked for meanwhile cuts the
    run short at its next widget call. Watched first, the session is shown by that rerun
    instead of the form it came from (seen in CI: Start led nowhere, with no message)."""
    watched: list[str] = []
    jobs = _WatchedJobs(watched)
    settings = Settings(out_dir=tmp_path)
    ingested = load_inputs([str(sample_media[0])])

    session = start_once(store, jobs, settings, ingested, watch=watched.append)
    again = start_once(store, jobs, settings, ingested, watch=watched.append)  # a double click

    assert again.id == session.id
    assert jobs.watched_at_start == [[session.id]]
    assert watched == [session.id, session.id]
