"""Now processing: a card for every item in flight, with what it is doing and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bulk_transcribe.models import Stage
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.now_processing import in_flight
from tests.web.conftest import make_session


def test_every_running_item_gets_a_card_with_stage_percent_and_elapsed_time(
    store: Store,
) -> None:
    session_id = make_session(store, [f"http://127.0.0.1:9/{n}.mp3" for n in range(4)])
    first, second, *_ = store.items(session_id)
    for item, progress in ((first, 0.25), (second, 0.75)):
        store.start_item(item.id)
        store.set_stage(item.id, Stage.TRANSCRIBING, progress)
    store.update_item_info(
        second.id, title="Talk", metadata={"thumbnail": "https://i.example/t.jpg"}
    )

    cards = in_flight(store.items(session_id), now=datetime.now(UTC) + timedelta(seconds=65))

    assert [(c.position, c.stage, c.percent) for c in cards] == [
        (1, "transcribing", 25),
        (2, "transcribing", 75),
    ]
    assert cards[1].title == "Talk" and cards[1].thumbnail == "https://i.example/t.jpg"
    assert cards[0].thumbnail is None
    assert all(c.elapsed_seconds is not None and c.elapsed_seconds >= 65 for c in cards)


def test_a_thumbnail_that_is_not_a_web_link_is_not_shown(store: Store) -> None:
    session_id = make_session(store, ["http://127.0.0.1:9/a.mp3"])
    item = store.items(session_id)[0]
    store.start_item(item.id)
    store.update_item_info(item.id, metadata={"thumbnail": "file:///etc/passwd"})
    assert in_flight(store.items(session_id))[0].thumbnail is None
