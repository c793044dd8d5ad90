"""Following feeds, channels, playlists and searches: what is new since the last check becomes
one new session. Called by the CLI (`follow`, `follows`, `unfollow`, `update`) and the web app.

An update looks at every followed source, keeps what no earlier session transcribed and no
earlier check handed on, and stores those items as one session; the caller runs it. Only one
update runs at a time per store (a claim kept by a heartbeat), so cron can start it freely.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from bulk_transcribe import redact
from bulk_transcribe.errors import Cancelled, ErrorKind, PermanentError, TranscribeError
from bulk_transcribe.ingest.classify import NO_SERVER_FILES, classify_entry
from bulk_transcribe.ingest.expand import Expander, ExpandResult
from bulk_transcribe.models import InvalidEntry, ItemSpec, Owner, Session, SourceType
from bulk_transcribe.runner import create_session
from bulk_transcribe.runner.episodes import archived_episodes
from bulk_transcribe.runner.ownership import (
    HEARTBEAT_SECONDS,
    OWNER_EXPIRY_SECONDS,
    is_alive,
    is_dead,
    new_owner,
)
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources import expander_for, is_collection
from bulk_transcribe.sources.feed_moves import moved_for_good
from bulk_transcribe.sources.pacing import Pacer
from bulk_transcribe.sources.podcast import episode_marks
from bulk_transcribe.sources.youtube_links import watch_url
from bulk_transcribe.store import Store
from bulk_transcribe.store.follows import Checked, Follow, FollowFilters, Follows

__all__ = [
    "Follow",
    "FollowFilters",
    "SourceCheck",
    "UpdateBusy",
    "UpdatePlan",
    "check_follows",
    "follow",
    "followed",
    "launch_update",
    "one_update_at_a_time",
    "running_update",
    "start_update",
    "unfinished_updates",
    "unfollow",
]

FEED_KINDS = ("podcast feed", "link")  # followed sources a feed's episodes come from
SEARCH_PREFIX = "search:"  # a followed search is stored as "search:<what to search for>"
DEFAULT_SEARCH_RESULTS = 20

ExpanderFactory = Callable[[Settings], Expander]
VideoFinder = Callable[[str, FollowFilters, Settings], list[ItemSpec]]


class UpdateBusy(Exception):
    """Another live update holds this store."""

    def __init__(self, holder: Owner, started_at: str):
        self.holder = holder
        super().__init__(
            f"an update is already running here (pid {holder.pid} on host {holder.host}, "
            f"started {started_at}); this one does nothing. Let it finish, or stop it first"
        )


# --- what is followed ---------------------------------------------------------------------


def follow(
    store: Store, target: str, filters: FollowFilters, *, search: bool = False
) -> tuple[Follow, bool]:
    """Follow a feed, channel or playlist URL (or, with `search`, a YouTube search). Following
    it again replaces its filters. Returns it and whether it is new."""
    if search:
        if not target.strip():
            raise PermanentError(ErrorKind.INVALID_INPUT, "type what to search for")
        return Follows(store).add(SEARCH_PREFIX + target.strip(), "search", filters)
    url, kind = followable(target)
    return Follows(store).add(url, kind, filters)


NOT_FOLLOWABLE = "not a link: follow takes a channel, a playlist, a podcast feed or --search"


def followable(text: str) -> tuple[str, str]:
    """The URL to keep for `text` and its kind, or why it cannot be followed."""
    # Links only, the disk never asked: a file cannot be followed, and on a shared web app a
    # different answer for a path that exists would tell a stranger which files do.
    entry = classify_entry(text, "follow", base_dirs=None)
    if isinstance(entry, InvalidEntry):
        reason = NOT_FOLLOWABLE if entry.reason == NO_SERVER_FILES else entry.reason
        raise PermanentError(ErrorKind.INVALID_INPUT, f"{text}: {reason}")
    url = entry.source
    if redact.redact_url(url) != url:
        raise PermanentError(
            ErrorKind.INVALID_INPUT,
            f"{redact.redact_url(url)} carries a password or key, which is never stored; "
            "follow a link without one",
        )
    if entry.source_type is SourceType.YOUTUBE:
        if not is_collection(entry):
            raise PermanentError(
                ErrorKind.INVALID_INPUT,
                f"{url} is one video: `bulk-transcribe run` transcribes it; follow takes a "
                "channel, a playlist, a podcast feed or --search",
            )
        return url, "youtube"
    if entry.source_type is SourceType.PODCAST_FEED:
        return url, "podcast feed"
    if expander_for(entry) is not None:
        return url, "link"  # a feed or not: the server says at the first check
    raise PermanentError(
        ErrorKind.INVALID_INPUT,
        f"{text} is a single file: `bulk-transcribe run` transcribes it; follow takes a "
        "channel, a playlist, a podcast feed or --search",
    )


def followed(store: Store) -> list[Follow]:
    return Follows(store).all()


def unfollow(store: Store, url_or_number: str) -> Follow:
    """Stop following; what it gave stays transcribed. Raises when nothing matches."""
    follows = Follows(store)
    found = follows.find(url_or_number)
    if found is None and not url_or_number.strip().isdigit():
        try:
            found = follows.find(followable(url_or_number)[0])
        except TranscribeError:
            found = None
    if found is None:
        raise PermanentError(
            ErrorKind.NOT_FOUND,
            f"nothing followed matches {url_or_number!r}; `bulk-transcribe follows` lists them",
        )
    follows.remove(found.id)
    return found


# --- checking for what is new -------------------------------------------------------------


@dataclass(frozen=True)
class SourceCheck:
    """One followed source at this update."""

    follow: Follow
    title: str | None
    found: list[ItemSpec]  # what the source lists, within its filters
    new: list[ItemSpec]  # of them, what this update will transcribe
    done_before: int = 0  # transcribed by an earlier session
    seen_before: int = 0  # handed on by an earlier check (done, failed or still queued)
    problems: tuple[str, ...] = ()  # why it, or some of its entries, could not be read
    moved_to: str | None = None  # the new address a feed permanently redirects to


@dataclass(frozen=True)
class UpdatePlan:
    checks: list[SourceCheck] = field(default_factory=list)

    @property
    def new_items(self) -> list[ItemSpec]:
        """Every new item once, in the order of the follows (a video in two playlists once)."""
        items: dict[str, ItemSpec] = {}
        for check in self.checks:
            for spec in check.new:
                items.setdefault(spec.source, spec)
        return list(items.values())


def check_follows(
    store: Store,
    settings: Settings,
    *,
    expander: ExpanderFactory | None = None,
    find_videos: VideoFinder | None = None,
) -> UpdatePlan:
    """Look at every followed source; nothing is stored. The network calls are parameters so
    tests can stand in for youtube.com."""
    follows = Follows(store)
    pacer = Pacer(settings.youtube_pace_seconds)  # one pace for all YouTube requests
    make_expander = expander or (lambda values: Expander(values, pacer=pacer))
    checks = []
    for followed_source in follows.all():
        moved_to = None
        if followed_source.kind in ("podcast feed", "link"):
            moved_to = moved_for_good(followed_source.url, settings)
        found, title, problems = _list(
            followed_source, settings, make_expander, find_videos or _search_videos, moved_to
        )
        done = _transcribed(store, found)
        seen = follows.seen(followed_source.id)
        new = [
            spec
            for n, spec in enumerate(found)
            if n not in done and not seen.intersection(_remembered_as(spec))
        ]
        checks.append(
            SourceCheck(
                follow=followed_source,
                title=title,
                found=found,
                new=new,
                done_before=len(done),
                seen_before=len(found) - len(new) - len(done),
                problems=problems,
                moved_to=moved_to,
            )
        )
    return UpdatePlan(checks)


def _transcribed(store: Store, found: Sequence[ItemSpec]) -> set[int]:
    """Which of `found` (by position) some session transcribed: by link, and a feed's episode
    also under an earlier link (runner/episodes.py)."""
    by_link = store.transcribed(spec.source for spec in found)
    moved = archived_episodes(store, found)
    return {n for n, spec in enumerate(found) if spec.source in by_link or n in moved}


def _remembered_as(spec: ItemSpec) -> list[str]:
    """What a follow remembers of a handed-on item: its link, and for a feed's episode what
    knows it again under another link (podcast.episode_marks)."""
    return [spec.source, *episode_marks(spec)]


def _list(
    source: Follow,
    settings: Settings,
    make_expander: ExpanderFactory,
    find_videos: VideoFinder,
    moved_to: str | None = None,
) -> tuple[list[ItemSpec], str | None, tuple[str, ...]]:
    filters = source.filters
    origin = f"follow #{source.id}"
    if source.kind == "search":
        query = source.url.removeprefix(SEARCH_PREFIX)
        try:
            found = find_videos(query, filters, settings)
        except Cancelled:
            raise
        except TranscribeError as exc:
            return [], None, (exc.message,)
        return _titled(found, filters), f"search: {query}", ()
    # A feed's latest N counts at its first check; from then on, every episode since.
    since = filters.since if source.kind in FEED_KINDS else None
    latest = None if since else filters.latest
    after = max(d for d in (filters.date_after, since) if d) if since else filters.date_after
    values = settings.model_copy(
        update={
            "latest": latest,
            "limit": latest,
            "date_after": after,
            "date_before": filters.date_before,
        }
    )
    source_type = SourceType.YOUTUBE if source.kind == "youtube" else SourceType.PODCAST_FEED
    if source.kind == "link":
        source_type = SourceType.HTTP_MEDIA  # the expander asks the server what it is
    address = moved_to or source.url
    spec = ItemSpec(source=address, source_type=source_type, origin=origin)
    result: ExpandResult = make_expander(values).expand([spec])
    title = next((e.title for e in result.expansions if e.title), None)
    problems = tuple(f"{e.value}: {e.reason}" for e in result.invalid)
    found = [s for s in result.items if s.source != address]
    if len(found) < len(result.items):  # the link came back as itself: it lists nothing
        problems += (f"{address} is not a podcast feed, channel or playlist",)
    if since:  # an undated episode cannot say it came after the first check: the catalogue's
        found = [s for s in found if s.metadata.get("published")]
    return _titled(found, filters), title, problems


def _titled(specs: Sequence[ItemSpec], filters: FollowFilters) -> list[ItemSpec]:
    words = [w.lower() for w in filters.title_words if w.strip()]
    if not words:
        return list(specs)
    return [s for s in specs if any(w in (s.title or "").lower() for w in words)]


def _search_videos(query: str, filters: FollowFilters, settings: Settings) -> list[ItemSpec]:
    """A followed search: the newest videos for `query`, as `bulk-transcribe search` finds them."""
    from bulk_transcribe.research.candidates import Order, VideoQuery
    from bulk_transcribe.research.finder import find_videos

    wanted = VideoQuery(
        text=query,
        limit=filters.latest or DEFAULT_SEARCH_RESULTS,
        after=filters.date_after,
        order=Order.DATE,
    )
    videos = find_videos(wanted, settings)
    return [
        ItemSpec(
            source=watch_url(video.video_id),
            source_type=SourceType.YOUTUBE,
            title=video.title,
            metadata={"search": query},
            origin=f"search {query!r}",
        )
        for video in videos
        if not (filters.date_before and video.published and video.published > filters.date_before)
    ]


def start_update(store: Store, settings: Settings, plan: UpdatePlan) -> Session | None:
    """Store the new items as one session (None when nothing is new) and remember the check:
    the next update will not hand these sources on again."""
    items = plan.new_items
    session = None
    if items:
        notes = [
            ("follow", f"{check.title or check.follow.url}: {len(check.new)} new")
            for check in plan.checks
            if check.new
        ]
        session = create_session(store, settings, items, notes)
    follows = Follows(store)
    for check in plan.checks:
        moved = check.moved_to
        # Taken when the new address answers with the feed, and carries no key to store.
        if moved and check.found and redact.redact_url(moved) == moved:
            follows.move(check.follow.id, moved)
        since = _reached_back_to(check)
        if since is not None:
            follows.set_filters(check.follow.id, replace(check.follow.filters, since=since))
        follows.record_check(
            check.follow.id,
            Checked(
                found=len(check.found),
                new=len(check.new),
                session_id=session.id if session is not None and check.new else None,
                title=check.title,
                problem="; ".join(check.problems) if check.problems and not check.found else None,
            ),
            [key for spec in check.found for key in _remembered_as(spec)],
        )
    return session


def _reached_back_to(check: SourceCheck) -> date | None:
    """For a feed followed for its latest N at its first check: the day of the oldest episode
    that check listed (None when another check did, or an episode has no date)."""
    filters = check.follow.filters
    if not filters.latest or filters.since or check.follow.kind not in FEED_KINDS:
        return None
    days = [spec.metadata.get("published") for spec in check.found]
    if not days or not all(isinstance(d, str) for d in days):
        return None
    return min(datetime.fromisoformat(d).date() for d in days)


def unfinished_updates(store: Store) -> list[Session]:
    """Sessions earlier updates created that stopped before their end (a crash, a reboot,
    a stop) and nobody runs now: the next update finishes them first, since what they hold
    is never handed on again."""
    unfinished = []
    for session_id in Follows(store).unfinished_update_sessions():
        session = store.get_session(session_id)
        if not is_alive(session.owner):
            unfinished.append(session)
    return unfinished


# --- one update at a time -----------------------------------------------------------------


@contextmanager
def one_update_at_a_time(store: Store) -> Iterator[Owner]:
    """Hold this store's update claim while the block runs; raises UpdateBusy when a live
    update holds it. A crashed update's claim lapses when its process is gone (this host)
    or its heartbeat is older than OWNER_EXPIRY_SECONDS."""
    follows = Follows(store)
    claimant = new_owner()
    held = follows.claim_update(claimant, OWNER_EXPIRY_SECONDS, is_dead)
    if held is not None:
        raise UpdateBusy(*held)
    stopped = threading.Event()

    def keep_alive() -> None:
        while not stopped.wait(HEARTBEAT_SECONDS):
            follows.renew_update_claim(claimant.id)

    heartbeat = threading.Thread(target=keep_alive, name="update-heartbeat", daemon=True)
    heartbeat.start()
    try:
        yield claimant
    finally:
        stopped.set()
        heartbeat.join()
        follows.release_update_claim(claimant.id)


def running_update(store: Store) -> tuple[Owner, str] | None:
    """The update running on this store right now (its process, when it started), if any."""
    claim = Follows(store).update_claim()
    if claim is None or not is_alive(claim[0]):
        return None
    return claim


def launch_update(db_path: Path, out_dir: Path, *, secrets: dict[str, str] | None = None) -> int:
    """Start `bulk-transcribe update` in a process of its own (the web app's "Check now");
    returns its pid. Its output goes to OUT/update.log."""
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "bulk_transcribe", "update"]
    command += ["--db", str(Path(db_path).resolve()), "--out", str(out_dir)]
    with open(out_dir / "update.log", "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(secrets or {})},
            start_new_session=True,  # a restart of the web app does not reach it
        )
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    return process.pid
