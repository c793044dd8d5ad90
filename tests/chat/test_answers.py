"""Asking the corpus against a chat server on 127.0.0.1 that records every prompt: the prompt
holds the passages found, citations become links to the right moment, invented citations are
dropped and counted, and failures of the model lose nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bulk_transcribe.chat.answers import ask
from bulk_transcribe.errors import PermanentError
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.chat.test_passages import make_store
from tests.fakes.chat_server import FakeChatServer

QUESTION = "How much sun do tomatoes need?"


def cites(*sentences: tuple[str, list[int]]) -> str:
    return json.dumps({"sentences": [{"text": t, "citations": c} for t, c in sentences]})


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer(default=cites(("Full sun.", [1]))) as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened, _ = make_store(tmp_path)
    with opened:
        yield opened


def settings(server: FakeChatServer, tmp_path: Path, **values: Any) -> Settings:
    return Settings(
        chat_api_base=server.base_url,
        chat_model="test-model",
        chat_api_key="chat-key",
        chat_timeout_seconds=20,
        rate_limit_db=tmp_path / "budgets.sqlite",
        **values,
    )


def test_the_prompt_holds_the_passages_and_citations_link_to_the_moment(
    server: FakeChatServer, store: Store, tmp_path: Path
) -> None:
    server.then(
        cites(
            ("Tomatoes need full sun.", [1]),
            ("Both want light.", [1, 2]),
        )
    )
    answer = ask(store, QUESTION + " And solar panels?", settings(server, tmp_path))
    (body,) = server.bodies
    prompt = body["messages"][-1]["content"]
    assert prompt.startswith("Question: How much sun do tomatoes need? And solar panels?")
    for passage in answer.passages:
        assert f"[{passage.number}] {passage.title} (" in prompt
        assert passage.text in prompt
    assert "Tomatoes need full sun and deep watering." in prompt
    assert '"citations"' in body["messages"][0]["content"]  # the schema is asked for

    first, second = answer.sentences
    assert first.text == "Tomatoes need full sun."
    (cited,) = first.passages
    assert cited.number == 1 and cited.title == "garden"
    assert "Tomatoes need full sun" in cited.text
    media = (tmp_path / "media" / "garden.wav").as_uri()
    assert cited.moment == 10.0  # where "Tomatoes need full sun" was said
    assert first.links == [f"{media}#t=10"]
    assert [(p.number, p.title) for p in second.passages] == [(1, "garden"), (2, "energy")]
    assert second.passages[1].text.startswith("Solar panels turn light into electricity.")
    assert answer.dropped_citations == 0 and answer.problem is None
    assert answer.usage.calls == 1


def test_a_citation_to_a_passage_not_given_is_dropped_and_counted(
    server: FakeChatServer, store: Store, tmp_path: Path
) -> None:
    server.then(cites(("Tomatoes need full sun.", [1, 9, 0]), ("Invented.", [42])))
    answer = ask(store, QUESTION, settings(server, tmp_path))
    assert len(answer.passages) < 9
    assert [p.number for p in answer.sentences[0].passages] == [1]
    assert answer.sentences[1].passages == []
    assert answer.dropped_citations == 3
    assert [p.number for p in answer.used] == [1]


def test_an_answer_citing_only_passages_not_given_is_not_shown_as_an_answer(
    server: FakeChatServer, store: Store, tmp_path: Path
) -> None:
    server.then(cites(("Tomatoes need shade all day.", [41, 42]), ("And ice.", [99])))
    answer = ask(store, QUESTION, settings(server, tmp_path))
    assert answer.sentences == [] and answer.dropped_citations == 3
    assert "cited only passages that were not given" in answer.problem
    assert answer.passages  # what was found is still shown


def test_nothing_relevant_is_said_without_asking_the_model(
    server: FakeChatServer, store: Store, tmp_path: Path
) -> None:
    answer = ask(store, "Where do zebras migrate?", settings(server, tmp_path))
    assert answer.found_nothing and answer.sentences == []
    assert server.requests == []


@pytest.mark.parametrize(
    ("faults", "script", "problem"),
    [
        (["500", "503"], [], "answered 503"),
        ([], ['{"sentences": [{"text": "cut', "not json at all"], "did not match the schema"),
        (["drop", "drop"], [], "no usable answer"),
    ],
)
def test_a_failing_model_loses_nothing_found(
    server: FakeChatServer,
    store: Store,
    tmp_path: Path,
    faults: list[str],
    script: list[str],
    problem: str,
) -> None:
    server.inject(*faults)
    server.then(*script)
    answer = ask(store, QUESTION, settings(server, tmp_path))
    assert answer.sentences == [] and problem in (answer.problem or "")
    assert answer.passages and "Tomatoes need full sun" in answer.passages[0].text
    assert len(server.requests) == 2  # asked once more, then no further


def test_a_429_waits_for_the_budget_and_then_answers(
    server: FakeChatServer, store: Store, tmp_path: Path
) -> None:
    server.inject("429")
    answer = ask(store, QUESTION, settings(server, tmp_path))
    assert [s.text for s in answer.sentences] == ["Full sun."]
    assert [r.status for r in server.requests] == [429, 200]


def test_asking_without_a_chat_model_says_what_to_set(store: Store) -> None:
    with pytest.raises(PermanentError, match="BULK_TRANSCRIBE_CHAT_MODEL"):
        ask(store, QUESTION, Settings(chat_api_base=None, chat_model=None))


def test_a_quotation_that_is_not_in_the_passages_it_cites_is_flagged(
    server: FakeChatServer, store: Store, tmp_path: Path
) -> None:
    """A researcher takes a quotation for what was said: one the model made up (or took from
    another passage than it cites) was shown as the transcript's words, with its link."""
    server.then(
        cites(
            ('The host said "tomatoes need full sun and deep watering".', [1]),
            ("They called it “the only plant that hates the sun”.", [1]),
            ('Roses get «morning light», and "mulch keeps the soil moist."', [1]),
        )
    )
    answer = ask(store, QUESTION, settings(server, tmp_path))
    assert [s.unfound_quotes for s in answer.sentences] == [
        [],  # as said, whatever the case and punctuation
        ["the only plant that hates the sun"],
        [],  # two words are no quotation to check; the other is as said
    ]
    assert answer.unfound_quotes == 1
