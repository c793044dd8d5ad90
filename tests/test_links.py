"""The real links of a session's items: kept by item key, in memory, handed to a job by pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.links import handed_over, link_of, real_links
from bulk_transcribe.models import ItemSpec, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store


def test_links_that_scrub_to_one_form_keep_distinct_keys_and_their_own_real_links(
    tmp_path: Path,
) -> None:
    specs = [
        ItemSpec(f"https://cdn.example/river.opus?session={n}", SourceType.HTTP_MEDIA)
        for n in (101, 102)
    ] + [ItemSpec("https://cdn.example/plain.mp3", SourceType.HTTP_MEDIA)]
    with Store(tmp_path / "db.sqlite") as store:
        session = store.create_session(tmp_path, Settings(out_dir=tmp_path).public_dict())
        assert store.add_items(session.id, specs) == 3
        items = store.items(session.id)
        links = real_links(specs, store.item_key)

        assert [i.source for i in items[:2]] == ["https://cdn.example/river.opus?session=***"] * 2
        assert items[0].key != items[1].key
        assert {links[i.key] for i in items[:2]} == {s.source for s in specs[:2]}
        assert items[2].key not in links  # nothing to keep: its stored link is the real one
        assert [link_of(item, links.get(item.key)) for item in items] == [s.source for s in specs]
        # The same real link gets the same key in this database, in any session.
        assert store.item_key(specs[0].source) == items[0].key
        dump = "\n".join(store._conn.iterdump())
    assert "session=101" not in dump and "session=102" not in dump


def test_a_later_process_without_the_real_link_says_so_instead_of_guessing(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        session = store.create_session(tmp_path, Settings(out_dir=tmp_path).public_dict())
        store.add_items(
            session.id, [ItemSpec("https://bob:hunter2@cdn.example/a.mp3", "http_media")]
        )
        (item,) = store.items(session.id)
    with pytest.raises(PermanentError) as raised:
        link_of(item, None)
    assert raised.value.kind is ErrorKind.AUTH
    assert "never saved" in raised.value.message and "hunter2" not in raised.value.message


def test_a_job_started_by_this_process_receives_the_real_links_through_a_pipe() -> None:
    links = {"0123456789ab": "https://bob:hunter2@cdn.example/a.mp3"}
    child_code = (
        "import json, os; from bulk_transcribe import links; "
        "print(json.dumps([links.received_links(), links.received_links(), "
        "'BULK_TRANSCRIBE_URL_SECRETS_FD' in os.environ]))"
    )
    with handed_over(links) as (env, fds):
        assert "hunter2" not in json.dumps(env)
        child = subprocess.run(
            [sys.executable, "-c", child_code],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            pass_fds=fds,
            check=True,
        )
    assert json.loads(child.stdout) == [links, {}, False]
