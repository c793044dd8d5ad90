"""Following: each check hands on only what is new, by recorded YouTube playlist listings and
a real feed server; one update at a time per store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.ingest.expand import Expander
from bulk_transcribe.models import ItemStatus, Owner
from bulk_transcribe.service.follow import (
    FollowFilters,
    UpdateBusy,
    check_follows,
    follow,
    followable,
    followed,
    one_update_at_a_time,
    start_update,
    unfollow,
)
from bulk_transcribe.settings import Settings
from bulk_transcribe.sources.pacing import Pacer
from bulk_transcribe.store import Store
from bulk_transcribe.store.follows import Follows
from tests.sources.feeds import FeedEpisode, day, rss_feed
from tests.sources.media_server import Route, running_server

PLAYLIST = "https://www.youtube.com/playlist?list=PLfollowed0001"
OTHER_PLAYLIST = "https://www.youtube.com/playlist?list=PLfollowed0002"


def flat_entry(video_id: str, title: str) -> dict[str, Any]:
    """One entry of yt-dlp's flat extraction of a YouTube playlist page."""
    return {
        "_type": "url",
        "ie_key": "Youtube",
        "id": video_id,
        "url": f"https://www.youtube.com/watch?v={video_id}",
        "title": title,
        "duration": 300,
        "upload_date": "20240301",
    }


class RecordedPlaylists:
    """yt-dlp's flat listings of playlist pages as recorded, changeable between checks."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.listed: list[str] = []

    def list_flat(self, url: str, settings: Settings):
        self.listed.append(url)
        title, entries = self.pages[url]
        return {"title": title, "_type": "playlist"}, iter([dict(e) for e in entries])

    def expander(self, settings: Settings) -> Expander:
        return Expander(settings, list_flat=self.list_flat, pacer=Pacer(0))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "out" / "bulk_transcribe.db") as opened:
        yield opened


def settings(tmp_path: Path) -> Settings:
    return Settings(out_dir=tmp_path / "out", youtube_pace_seconds=0)


def finish_all(store: Store, session_id: str) -> None:
    for item in store.items(session_id, [ItemStatus.QUEUED]):
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.DONE, outputs=["x.md"], method="scripted")


def test_a_playlist_check_hands_on_only_videos_added_since_the_last(
    store: Store, tmp_path: Path
) -> None:
    youtube = RecordedPlaylists()
    youtube.pages[PLAYLIST] = (
        "Solar basics",
        [flat_entry("aaaaaaaaaa1", "Solar panels"), flat_entry("aaaaaaaaaa2", "Wind and solar")],
    )
    follow(store, PLAYLIST, FollowFilters())

    first = check_follows(store, settings(tmp_path), expander=youtube.expander)
    assert [s.title for s in first.new_items] == ["Solar panels", "Wind and solar"]
    session = start_update(store, settings(tmp_path), first)
    assert session is not None
    assert [i.title for i in store.items(session.id)] == ["Solar panels", "Wind and solar"]
    (checked,) = followed(store)
    assert (checked.title, checked.last_found, checked.last_new) == ("Solar basics", 2, 2)
    assert checked.last_session_id == session.id and checked.checked_at

    # The session has not even run yet: its videos are still not handed on twice.
    youtube.pages[PLAYLIST][1].insert(0, flat_entry("aaaaaaaaaa3", "Solar roofs"))
    second = check_follows(store, settings(tmp_path), expander=youtube.expander)
    (source,) = second.checks
    assert [s.title for s in second.new_items] == ["Solar roofs"]
    assert (len(source.found), source.seen_before, source.done_before) == (3, 2, 0)
    assert youtube.listed == [PLAYLIST, PLAYLIST]


def test_what_an_earlier_session_transcribed_is_not_new(store: Store, tmp_path: Path) -> None:
    youtube = RecordedPlaylists()
    youtube.pages[PLAYLIST] = ("Talks", [flat_entry("bbbbbbbbbb1", "One")])
    follow(store, PLAYLIST, FollowFilters())
    plan = check_follows(store, settings(tmp_path), expander=youtube.expander)
    finish_all(store, start_update(store, settings(tmp_path), plan).id)

    youtube.pages[OTHER_PLAYLIST] = (
        "Mix",
        [flat_entry("bbbbbbbbbb1", "One"), flat_entry("bbbbbbbbbb2", "Two")],
    )
    follow(store, OTHER_PLAYLIST, FollowFilters())
    plan = check_follows(store, settings(tmp_path), expander=youtube.expander)
    mix = plan.checks[1]
    assert [s.title for s in mix.new] == ["Two"]
    assert mix.done_before == 1


def test_a_video_in_two_followed_playlists_is_transcribed_once(
    store: Store, tmp_path: Path
) -> None:
    youtube = RecordedPlaylists()
    youtube.pages[PLAYLIST] = ("A", [flat_entry("ccccccccccc", "Shared")])
    youtube.pages[OTHER_PLAYLIST] = ("B", [flat_entry("ccccccccccc", "Shared")])
    follow(store, PLAYLIST, FollowFilters())
    follow(store, OTHER_PLAYLIST, FollowFilters())
    plan = check_follows(store, settings(tmp_path), expander=youtube.expander)
    assert [len(c.new) for c in plan.checks] == [1, 1]
    session = start_update(store, settings(tmp_path), plan)
    assert store.counts(session.id).total == 1


def test_filters_keep_the_latest_and_titles_with_a_word(store: Store, tmp_path: Path) -> None:
    youtube = RecordedPlaylists()
    youtube.pages[PLAYLIST] = (
        "Mixed",
        [flat_entry(f"ddddddddd0{n}", title) for n, title in enumerate(
            ["Garden tips", "Weather", "GARDEN tools", "Garden again"]
        )],
    )  # fmt: skip
    follow(store, PLAYLIST, FollowFilters(latest=3, title_words=("garden",)))
    plan = check_follows(store, settings(tmp_path), expander=youtube.expander)
    assert [s.title for s in plan.new_items] == ["Garden tips", "GARDEN tools"]


def test_an_unreachable_feed_is_reported_and_read_in_full_once_it_is_back(
    store: Store, tmp_path: Path
) -> None:
    with running_server() as server:
        feed = server.add("/show.rss", Route(b"gone", "text/plain", status=404))
        follow(store, feed, FollowFilters())
        plan = check_follows(store, settings(tmp_path))
        assert plan.new_items == [] and plan.checks[0].problems
        assert start_update(store, settings(tmp_path), plan) is None
        (down,) = followed(store)
        assert down.last_problem and down.checked_at

        episode = FeedEpisode("Back", day(2024, 5, 1), server.url("/back.mp3"))
        server.add("/show.rss", Route(rss_feed("Show", [episode]), "application/rss+xml"))
        plan = check_follows(store, settings(tmp_path))
        assert [s.title for s in plan.new_items] == ["Back"]
        start_update(store, settings(tmp_path), plan)
        (up,) = followed(store)
        assert up.last_problem is None and up.title == "Show"


def test_following_again_replaces_the_filters_and_unfollow_forgets(store: Store) -> None:
    first, new = follow(store, PLAYLIST, FollowFilters(latest=5))
    again, new_again = follow(store, PLAYLIST, FollowFilters(latest=2))
    assert (new, new_again, first.id) == (True, False, again.id)
    assert followed(store)[0].filters.latest == 2
    assert unfollow(store, PLAYLIST).id == first.id
    assert followed(store) == []
    with pytest.raises(PermanentError, match="bulk-transcribe follows"):
        unfollow(store, str(first.id))


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("https://www.youtube.com/@channel", "youtube"),
        ("youtube.com/@channel/videos", "youtube"),
        ("https://www.youtube.com/playlist?list=PLfollowed0001", "youtube"),
        ("https://example.org/podcast/feed", "podcast feed"),
        ("https://example.org/show", "link"),  # the server says at the first check
    ],
)
def test_what_can_be_followed(store: Store, target: str, kind: str) -> None:
    found, new = follow(store, target, FollowFilters())
    assert new and found.kind == kind


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "one video"),
        ("https://cdn.example/episode.mp3", "single file"),
        ("https://feeds.example/show.rss?token=s3cret", "never stored"),
        ("ftp://example.org/feed", "unsupported URL scheme"),
    ],
)
def test_what_cannot_be_followed_says_why(store: Store, target: str, why: str) -> None:
    with pytest.raises(PermanentError, match=why) as raised:
        follow(store, target, FollowFilters())
    assert "s3cret" not in raised.value.message
    assert followed(store) == []


def test_one_update_at_a_time_and_a_dead_holder_is_replaced(store: Store) -> None:
    with one_update_at_a_time(store) as holder:
        busy = pytest.raises(UpdateBusy, match=f"pid {holder.pid}")
        with busy, one_update_at_a_time(store):
            pass
    with one_update_at_a_time(store):
        pass  # released on the way out

    gone = Owner(id="crashed", host=holder.host, pid=2**22 + 12345, heartbeat_at=1e12)
    assert Follows(store).claim_update(gone, 15.0, lambda owner: False) is None
    with one_update_at_a_time(store):
        pass  # its process does not exist on this host: taken over at once


def test_a_followed_search_hands_on_its_new_videos(store: Store, tmp_path: Path) -> None:
    from bulk_transcribe.models import ItemSpec, SourceType

    results = [("eeeeeeeeee1", "Solar in snow")]
    asked: list[tuple[str, FollowFilters]] = []

    def find_videos(query: str, filters: FollowFilters, values: Settings) -> list[ItemSpec]:
        asked.append((query, filters))
        return [
            ItemSpec(f"https://www.youtube.com/watch?v={v}", SourceType.YOUTUBE, title=t)
            for v, t in results
        ]

    found, _ = follow(store, "solar panels winter", FollowFilters(latest=5), search=True)
    assert (found.kind, found.url) == ("search", "search:solar panels winter")
    first = check_follows(store, settings(tmp_path), find_videos=find_videos)
    assert [s.title for s in first.new_items] == ["Solar in snow"]
    assert first.checks[0].title == "search: solar panels winter"
    start_update(store, settings(tmp_path), first)

    results.insert(0, ("eeeeeeeeee2", "Solar at night"))
    second = check_follows(store, settings(tmp_path), find_videos=find_videos)
    assert [s.title for s in second.new_items] == ["Solar at night"]
    assert asked[0] == ("solar panels winter", FollowFilters(latest=5))


def test_a_followed_search_asks_the_youtube_data_api(store: Store, tmp_path: Path) -> None:
    """The search itself as `bulk-transcribe search` runs it: recorded Data API answers."""
    from tests.research.recordings import FakeDataApi, solar_videos

    with FakeDataApi({"solar panels": solar_videos()}, key="follow-key") as api:
        values = settings(tmp_path).model_copy(
            update={"youtube_api_key": SecretStr("follow-key"), "youtube_api_base": api.base_url}
        )
        follow(store, "solar panels", FollowFilters(latest=3), search=True)
        plan = check_follows(store, values)
    (check,) = plan.checks
    assert check.problems == ()
    assert len(check.new) == 3
    assert all(s.source.startswith("https://www.youtube.com/watch?v=sol") for s in check.new)
    searched = [params for path, params in api.seen if path.endswith("/search")]
    assert searched and searched[0]["order"] == "date"


def test_a_link_without_extension_is_settled_by_its_server(store: Store, tmp_path: Path) -> None:
    with running_server() as server:
        episode = FeedEpisode("Only", day(2024, 5, 1), server.url("/only.mp3"))
        server.add("/show", Route(rss_feed("Show", [episode]), "application/rss+xml"))
        server.add("/page", Route(b"<html><body>hello</body></html>", "text/html"))
        follow(store, server.url("/show"), FollowFilters())
        follow(store, server.url("/page"), FollowFilters())
        feed, page = check_follows(store, settings(tmp_path)).checks
    assert [s.title for s in feed.new] == ["Only"] and feed.title == "Show"
    assert page.new == [] and "is not a podcast feed" in page.problems[0]


def test_a_path_gets_one_answer_whether_or_not_the_file_exists(tmp_path) -> None:
    there = tmp_path / "meeting.m4a"
    there.write_bytes(b"x")
    answers = []
    for text in (str(there), str(tmp_path / "missing.m4a")):
        with pytest.raises(PermanentError) as caught:
            followable(text)
        answers.append(caught.value.message.removeprefix(text))
    assert answers[0] == answers[1] and "follow takes a channel" in answers[0]


def test_an_episode_whose_audio_link_changed_is_not_new_again(store: Store, tmp_path: Path) -> None:
    """Hosts change an episode's enclosure link (a new analytics prefix, a signed or dated
    query, a move to another host) while its guid stays: it is the same episode, so neither
    a later check nor a check after an earlier session transcribed it hands it on again."""
    with running_server() as server:

        def publish(version: int, titles: list[str]) -> None:
            episodes = [
                FeedEpisode(t, day(2024, 5, n), server.url(f"/v{version}/{n}.mp3?ts={version}"))
                for n, t in enumerate(titles, start=1)
            ]
            server.add("/show.rss", Route(rss_feed("Show", episodes), "application/rss+xml"))

        publish(1, ["One", "Two"])
        feed = server.url("/show.rss")
        follow(store, feed, FollowFilters())
        first = check_follows(store, settings(tmp_path))
        finish_all(store, start_update(store, settings(tmp_path), first).id)

        publish(2, ["One", "Two", "Three"])
        second = check_follows(store, settings(tmp_path))
        assert [s.title for s in second.new_items] == ["Three"]
        assert second.checks[0].seen_before + second.checks[0].done_before == 2

        # Followed afresh (its handed-on list forgotten): the transcribed episodes are known
        # by their guid in the feed, whatever link they have now.
        unfollow(store, feed)
        follow(store, feed, FollowFilters())
        publish(3, ["One", "Two", "Three"])
        third = check_follows(store, settings(tmp_path))
        assert [s.title for s in third.new_items] == ["Three"]
        assert third.checks[0].done_before == 2


def test_a_feed_that_gives_every_episode_one_guid_still_hands_on_each(
    store: Store, tmp_path: Path
) -> None:
    """The guid then names no episode: a new one (other title, other date) is new."""
    with running_server() as server:

        def publish(titles: list[str]) -> None:
            episodes = [
                FeedEpisode(t, day(2024, 5, n), server.url(f"/{n}.mp3"))
                for n, t in enumerate(titles, start=1)
            ]
            feed = re.sub(rb"<guid>[^<]*</guid>", b"<guid>same</guid>", rss_feed("Show", episodes))
            server.add("/show.rss", Route(feed, "application/rss+xml"))

        publish(["One"])
        follow(store, server.url("/show.rss"), FollowFilters(latest=1))
        first = check_follows(store, settings(tmp_path))
        finish_all(store, start_update(store, settings(tmp_path), first).id)
        publish(["One", "Two"])
        second = check_follows(store, settings(tmp_path))
        assert [s.title for s in second.new_items] == ["Two"]
        start_update(store, settings(tmp_path), second)
        unfollow(store, server.url("/show.rss"))  # known now only by what was transcribed
        follow(store, server.url("/show.rss"), FollowFilters(latest=1))
        publish(["One", "Two", "Three"])
        third = check_follows(store, settings(tmp_path))
        assert [s.title for s in third.new_items] == ["Three"]


def test_a_followed_paged_feed_hands_on_its_whole_catalogue_then_only_the_new(
    store: Store, tmp_path: Path
) -> None:
    """A host serving its catalogue in pages (RFC 5005): the follow handed on the first
    page's episodes only, and the older ones were never transcribed."""
    with running_server() as server:

        def publish(numbers: list[int]) -> None:
            pages = [numbers[i : i + 2] for i in range(0, len(numbers), 2)]
            for n, page in enumerate(pages, start=1):
                episodes = [
                    FeedEpisode(f"Ep {e}", day(2024, e, 1), server.url(f"/{e}.mp3")) for e in page
                ]
                following = f"/show/{n + 1}.rss" if n < len(pages) else None
                server.add(
                    f"/show/{n}.rss", Route(rss_feed("Paged", episodes, following), "text/xml")
                )

        publish([5, 4, 3, 2, 1])
        follow(store, server.url("/show/1.rss"), FollowFilters())
        plan = check_follows(store, settings(tmp_path))
        assert [s.title for s in plan.new_items] == ["Ep 5", "Ep 4", "Ep 3", "Ep 2", "Ep 1"]
        session = start_update(store, settings(tmp_path), plan)
        assert session is not None
        finish_all(store, session.id)

        publish([6, 5, 4, 3, 2, 1])  # a new episode pushes every other one down
        plan = check_follows(store, settings(tmp_path))
        assert [s.title for s in plan.new_items] == ["Ep 6"]


def test_a_feed_that_moved_for_good_is_followed_at_its_new_address(
    store: Store, tmp_path: Path
) -> None:
    """A show moving host answers 301 at its old address for a while, then nothing: the
    follow kept the old address, and once it was gone no new episode was ever handed on."""
    with running_server() as server:
        old = server.url("/old.rss")
        first = FeedEpisode("First", day(2024, 1, 1), server.url("/1.mp3"))
        server.add("/old.rss", Route(rss_feed("Show", [first]), "text/xml"))
        follow(store, old, FollowFilters())
        finish_all(
            store,
            start_update(store, settings(tmp_path), check_follows(store, settings(tmp_path))).id,
        )

        server.add("/new.rss", Route(rss_feed("Show", [first]), "text/xml"))
        server.add("/old.rss", Route(b"", status=301, extra_headers={"Location": "/new.rss"}))
        plan = check_follows(store, settings(tmp_path))
        assert plan.new_items == [] and plan.checks[0].moved_to == server.url("/new.rss")
        start_update(store, settings(tmp_path), plan)
        (moved,) = followed(store)
        assert moved.url == server.url("/new.rss")

        server.add("/old.rss", Route(b"gone", "text/plain", status=410))
        second = FeedEpisode("Second", day(2024, 2, 1), server.url("/2.mp3"))
        server.add("/new.rss", Route(rss_feed("Show", [second, first]), "text/xml"))
        plan = check_follows(store, settings(tmp_path))
        assert [s.title for s in plan.new_items] == ["Second"]
        assert plan.checks[0].problems == ()


def test_a_feed_redirected_for_now_keeps_its_address(store: Store, tmp_path: Path) -> None:
    with running_server() as server:
        episode = FeedEpisode("First", day(2024, 1, 1), server.url("/1.mp3"))
        server.add("/today.rss", Route(rss_feed("Show", [episode]), "text/xml"))
        feed = server.add(
            "/show.rss", Route(b"", status=302, extra_headers={"Location": "/today.rss"})
        )
        follow(store, feed, FollowFilters())
        plan = check_follows(store, settings(tmp_path))
        assert [s.title for s in plan.new_items] == ["First"] and plan.checks[0].moved_to is None
        start_update(store, settings(tmp_path), plan)
        assert [f.url for f in followed(store)] == [feed]


def test_a_feed_followed_for_its_latest_episodes_misses_none_published_after(
    store: Store, tmp_path: Path
) -> None:
    """`--latest 2` keeps the back catalogue out; but when three episodes appeared between two
    updates (a week without cron, a busy show), the second took the newest two and the
    third was never transcribed."""
    with running_server() as server:

        def publish(numbers: range) -> str:
            episodes = [
                FeedEpisode(f"Ep {n}", day(2024, n, 1), server.url(f"/{n}.mp3"))
                for n in reversed(numbers)
            ]
            undated = FeedEpisode("Bonus, undated", None, server.url("/bonus.mp3"))
            return server.add(
                "/show.rss", Route(rss_feed("Show", [*episodes, undated]), "text/xml")
            )

        feed = publish(range(1, 6))
        follow(store, feed, FollowFilters(latest=2))
        plan = check_follows(store, settings(tmp_path))
        assert [s.title for s in plan.new_items] == ["Ep 5", "Ep 4"]
        finish_all(store, start_update(store, settings(tmp_path), plan).id)

        publish(range(1, 9))
        plan = check_follows(store, settings(tmp_path))
        assert [s.title for s in plan.new_items] == ["Ep 8", "Ep 7", "Ep 6"]
        finish_all(store, start_update(store, settings(tmp_path), plan).id)
        assert check_follows(store, settings(tmp_path)).new_items == []
