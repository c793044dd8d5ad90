"""Planning searches and scoring relevance with a chat model on a fake OpenAI-compatible
server: schema-checked answers, one retry, and nothing lost when the model fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bulk_transcribe.research.candidates import Candidate
from bulk_transcribe.research.planner import ChatPlanner, chat_configured
from bulk_transcribe.settings import Settings
from tests.fakes.base import Reply
from tests.fakes.chat_server import TIMEOUT, FakeChatServer

QUESTION = "How do rooftop solar panels hold up in cold climates?"
PLAN = json.dumps({"queries": ["solar panels snow", "solar panels winter efficiency"]})


def videos(count: int) -> list[Candidate]:
    topics = ["solar panels in snow", "cooking pasta", "winter solar output", "guitar lesson"]
    return [
        Candidate(f"vid{n:08d}", f"https://www.youtube.com/watch?v=vid{n:08d}",
                  f"{topics[n % 4]} #{n}", channel="Chan", duration=600)
        for n in range(count)
    ]  # fmt: skip


def judge(messages: list[dict[str, Any]]) -> str:
    """Scores like a sensible model: solar videos relevant, the rest not."""
    listed = json.loads(messages[-1]["content"].split("Videos:\n", 1)[1])
    scores = [
        {
            "id": v["id"],
            "relevance": 0.9 if "solar" in v["title"] else 0.1,
            "reason": "about solar panels" if "solar" in v["title"] else "off topic",
        }
        for v in listed
    ]
    return json.dumps({"scores": scores})


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer(default=judge) as running:
        yield running


def planner_for(server: FakeChatServer, **overrides: Any) -> ChatPlanner:
    values = {
        "chat_api_base": server.base_url,
        "chat_model": "test-model",
        "chat_api_key": "chat-key",
        "chat_timeout_seconds": 20,  # generous: a loaded machine must not look like a timeout
        **overrides,
    }
    return ChatPlanner(Settings(**values))


def test_a_question_becomes_several_queries(server: FakeChatServer) -> None:
    server.then(PLAN)
    with planner_for(server) as planner:
        plan = planner.plan(QUESTION)
    assert plan.queries == ["solar panels snow", "solar panels winter efficiency"]
    assert plan.problem is None and plan.usage.calls == 1 and plan.usage.input_tokens > 0
    body = server.bodies[0]
    assert body["model"] == "test-model"
    assert body["response_format"] == {"type": "json_object"}
    assert '"queries"' in body["messages"][0]["content"]  # the schema is in the prompt
    assert body["messages"][1]["content"] == QUESTION


def test_malformed_json_is_asked_for_once_more(server: FakeChatServer) -> None:
    server.then('{"queries": ["solar panels sn', "```json\n" + PLAN + "\n```")
    with planner_for(server) as planner:
        plan = planner.plan(QUESTION)
    assert plan.queries == ["solar panels snow", "solar panels winter efficiency"]
    assert plan.usage.calls == 2


def test_two_bad_answers_fall_back_to_the_question_itself(server: FakeChatServer) -> None:
    server.then('{"queries": []}', "not json at all")
    with planner_for(server) as planner:
        plan = planner.plan(QUESTION)
    assert plan.queries == [QUESTION]
    assert plan.problem is not None and "did not match the schema" in plan.problem
    assert len(server.bodies) == 2


def test_a_timeout_is_retried_then_given_up_without_losing_the_search(
    server: FakeChatServer,
) -> None:
    server.stall_seconds = 12  # far past the client's timeout below
    server.then(TIMEOUT, PLAN)
    with planner_for(server, chat_timeout_seconds=4) as planner:
        assert planner.plan(QUESTION).queries[0] == "solar panels snow"
    server.then(TIMEOUT, TIMEOUT)
    with planner_for(server, chat_timeout_seconds=4) as planner:
        plan = planner.plan(QUESTION)
    assert plan.queries == [QUESTION]
    assert "did not answer within 4 s" in (plan.problem or "")


def test_a_broken_http_body_is_retried(server: FakeChatServer) -> None:
    server.inject("malformed")
    server.then(PLAN)
    with planner_for(server) as planner:
        assert planner.plan(QUESTION).queries[0] == "solar panels snow"


def test_a_refused_key_is_not_retried_and_never_shown(server: FakeChatServer) -> None:
    server.api_key = "the-right-key"
    with planner_for(server, chat_api_key="my-wrong-secret") as planner:
        plan = planner.plan(QUESTION)
    assert plan.queries == [QUESTION]
    assert plan.problem.startswith(
        "searched the question as written: the chat endpoint rejected the key (HTTP 401)"
    )
    assert "BULK_TRANSCRIBE_CHAT_API_KEY" in plan.problem
    assert "my-wrong-secret" not in plan.problem  # the server echoes it; it is scrubbed
    assert server.status_counts[401] == 1


def test_videos_are_scored_in_batches_with_a_reason_each(server: FakeChatServer) -> None:
    found = videos(23)
    with planner_for(server) as planner:
        scoring = planner.score(QUESTION, found)
    assert len(server.bodies) == 3  # batches of 10, 10 and 3
    assert [v.video_id for v in scoring.videos] == [v.video_id for v in found]
    assert scoring.unscored == 0 and scoring.problems == []
    first, second = scoring.videos[0], scoring.videos[1]
    assert (first.relevance, first.reason) == (0.9, "about solar panels")
    assert (second.relevance, second.reason) == (0.1, "off topic")


def test_a_batch_that_fails_twice_stays_unscored_and_kept(server: FakeChatServer) -> None:
    out_of_range = json.dumps({"scores": [{"id": "vid00000000", "relevance": 7, "reason": "x"}]})
    server.then(judge, "oops", out_of_range)  # batch 1 fine; batch 2 fails twice
    with planner_for(server) as planner:
        scoring = planner.score(QUESTION, videos(23))
    assert len(scoring.videos) == 23
    assert [v.relevance is None for v in scoring.videos] == [False] * 10 + [True] * 10 + [False] * 3
    (problem,) = scoring.problems
    assert problem.startswith("videos 11-20 left unscored: the answer did not match the schema")


def test_cost_and_tokens_are_estimated_before_and_counted_after(server: FakeChatServer) -> None:
    with planner_for(server, chat_input_price=0.15, chat_output_price=0.6) as planner:
        estimate = planner.estimate_scoring(QUESTION, videos(23))
        scoring = planner.score(QUESTION, videos(23))
    assert estimate.calls == 3 and estimate.input_tokens > 500 and estimate.cost is not None
    assert "about 3 calls" in estimate.describe()
    assert scoring.usage.calls == 3
    assert scoring.usage.input_tokens == sum(
        sum(len(m["content"]) for m in b["messages"]) // 4 for b in server.bodies
    )
    spent = scoring.usage.cost(planner.settings)
    assert spent is not None and spent > 0
    assert f"${spent:.4f}" in scoring.usage.describe(planner.settings)


def test_planning_is_off_until_a_model_and_endpoint_are_set() -> None:
    assert not chat_configured(Settings(chat_model=None, chat_api_base=None))
    assert chat_configured(Settings(chat_model="m", chat_api_base="http://127.0.0.1:1/v1"))


def test_a_429_pauses_the_endpoints_budget_before_the_one_re_ask(server: FakeChatServer) -> None:
    server.answer_next(Reply(429, {"error": {"message": "Slow down"}}, {"Retry-After": "1"}))
    server.then(PLAN)
    with planner_for(server) as planner:
        plan = planner.plan(QUESTION)
        budget = planner.budget()
    assert plan.queries == ["solar panels snow", "solar panels winter efficiency"]
    assert [r.status for r in server.requests] == [429, 200]
    # The re-ask went through the budget, which heard the 429 and its Retry-After.
    assert budget.count_429 == 1


def test_a_429_asking_for_too_long_a_wait_is_not_asked_again(server: FakeChatServer) -> None:
    year = str(365 * 24 * 3600)
    server.answer_next(Reply(429, {"error": {"message": "Come back"}}, {"Retry-After": year}))
    with planner_for(server) as planner:
        plan = planner.plan(QUESTION)
    assert plan.queries == [QUESTION]
    assert plan.problem is not None and "asked to wait" in plan.problem
    assert [r.status for r in server.requests] == [429]
