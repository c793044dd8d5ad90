"""A speech model that cannot be loaded stops the run after the first item, instead of
failing every item of the batch the same way (the real faster-whisper, given a folder that
holds no model)."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.models import SessionStatus
from bulk_transcribe.runner import Runner
from tests.runner.doubles import make_session, statuses


def test_a_model_that_cannot_load_stops_the_run_and_the_rest_waits(tmp_path: Path) -> None:
    not_a_model = tmp_path / "my-model"
    not_a_model.mkdir()
    (not_a_model / "config.json").write_text("{}")
    store, session, settings = make_session(
        tmp_path, ["one", "two", "three"], model=str(not_a_model)
    )

    Runner(store, session.id, settings).run()

    assert statuses(store, session.id) == {"one": "failed", "two": "queued", "three": "queued"}
    [failed] = [i for i in store.items(session.id) if i.status.value == "failed"]
    assert failed.error_kind == "model"
    assert store.get_session(session.id).status is SessionStatus.STOPPED
    reasons = [e.message for e in store.events(session.id) if e.kind == "stopped"]
    assert reasons and reasons[0].startswith(
        f"a model every item needs failed (--model {not_a_model}: could not load"
    )
    assert reasons[0].endswith(
        "the other items wait in the queue; fix what it says, then run the inputs again"
    )
