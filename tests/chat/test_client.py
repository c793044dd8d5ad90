"""The chat client's request budget: one per endpoint and key, shared by every process."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from bulk_transcribe.chat.client import ChatClient, Usage, chat_budget_id
from bulk_transcribe.settings import Settings
from tests.fakes.base import Reply
from tests.fakes.chat_server import FakeChatServer


def settings(base: str, key: str | None, tmp_path: Path) -> Settings:
    return Settings(
        chat_api_base=base,
        chat_api_key=key,
        chat_model="test-model",
        rate_limit_db=tmp_path / "budgets.sqlite",
    )


def test_two_keys_on_one_endpoint_have_a_budget_each_and_no_key_shows(tmp_path: Path) -> None:
    base = "https://chat.example/v1"
    alice = chat_budget_id(settings(base, "sk-alice-SECRET", tmp_path))
    bob = chat_budget_id(settings(base, "sk-bob-SECRET", tmp_path))
    assert alice != bob
    assert alice == chat_budget_id(settings(base, "sk-alice-SECRET", tmp_path))
    elsewhere = settings("https://other.example/v1", "sk-alice-SECRET", tmp_path)
    assert chat_budget_id(elsewhere) != alice
    for budget in (alice, bob):
        assert "SECRET" not in budget and budget.startswith("chat:https://chat.example/v1@")


def test_clients_with_one_key_share_a_limiter_and_another_key_gets_its_own(
    tmp_path: Path,
) -> None:
    with FakeChatServer(default="{}") as server:
        one = settings(server.base_url, "sk-one", tmp_path)
        two = settings(server.base_url, "sk-two", tmp_path)
        with ChatClient(one) as first, ChatClient(one) as again, ChatClient(two) as other:
            assert first._limiter is again._limiter
            assert other._limiter is not first._limiter
            # Shown without the fingerprint: the endpoint, as before.
            assert first.budget().provider == f"chat:{server.base_url}"


def test_a_label_keeps_an_at_sign_of_its_own_url() -> None:
    from bulk_transcribe.runner.ratelimit import label_of

    assert label_of("openai@0123456789") == "openai"
    assert label_of("chat:https://***@chat.example/v1@0123456789") == (
        "chat:https://***@chat.example/v1"
    )
    assert label_of("deapi") == "deapi"


class _Schema(BaseModel):
    summary: str


def _completion(content: str, finish_reason: str, completion_tokens: int = 16) -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 50, "completion_tokens": completion_tokens,
                  "total_tokens": 50 + completion_tokens},
    }  # fmt: skip


QUESTION = [{"role": "user", "content": "Summarise: hello there."}]


def test_an_answer_cut_at_the_output_limit_is_not_paid_for_twice(tmp_path: Path) -> None:
    """The same request at temperature 0 is cut the same way again: one request, and a reason
    that names the limit, not "invalid JSON"."""
    with FakeChatServer(default='{"summary": "whole"}') as server:
        server.answer_next(Reply(200, _completion('{"summary": "The talk cov', "length", 4096)))
        with ChatClient(settings(server.base_url, "sk-one", tmp_path)) as chat:
            answer, problem = chat.ask(QUESTION, _Schema, Usage())
        asked = len(server.requests_to("/v1/chat/completions"))
    assert answer is None and asked == 1
    assert "cut off at the model's output limit" in problem and "4,096 tokens" in problem


def test_a_rejected_chat_key_is_not_tried_again_for_every_later_question(tmp_path: Path) -> None:
    secret = "sk-chat-SECRET-0123456789"
    with FakeChatServer(default='{"summary": "s"}', api_key="sk-the-right-one") as server:
        with ChatClient(settings(server.base_url, secret, tmp_path)) as chat:
            outcomes = [chat.ask(QUESTION, _Schema, Usage()) for _ in range(5)]
        asked = len(server.requests_to("/v1/chat/completions"))
    assert asked == 1  # a summary per item of a 500-item run no longer means 500 refusals
    for answer, problem in outcomes:
        assert answer is None
        assert "rejected the key (HTTP 401)" in problem
        assert "BULK_TRANSCRIBE_CHAT_API_KEY" in problem and secret not in problem


def test_a_200_carrying_an_error_says_what_the_endpoint_said(tmp_path: Path) -> None:
    with FakeChatServer(default='{"summary": "s"}') as server:
        overloaded = Reply(200, {"error": {"message": "The model is overloaded", "code": 503}})
        server.answer_next(overloaded, overloaded)
        with ChatClient(settings(server.base_url, "sk-one", tmp_path)) as chat:
            answer, problem = chat.ask(QUESTION, _Schema, Usage())
    assert answer is None
    assert "The model is overloaded" in problem


def test_a_stalled_chat_model_is_given_up_on_not_waited_for_on_every_question(
    tmp_path: Path,
) -> None:
    """Summaries of a 500-item run against a model that never answers: a few timeouts in a
    row, then no more requests, each caller told why."""
    from tests.fakes.chat_server import TIMEOUT

    with FakeChatServer(default='{"summary": "s"}', stall_seconds=1.0) as server:
        server.then(*[TIMEOUT] * 20)
        quick = settings(server.base_url, "sk-one", tmp_path).model_copy(
            update={"chat_timeout_seconds": 0.2}
        )
        with ChatClient(quick) as chat:
            outcomes = [chat.ask(QUESTION, _Schema, Usage()) for _ in range(5)]
        asked = len(server.bodies)  # noted on arrival: a stalled answer is recorded later
    assert asked == 3
    assert all(answer is None for answer, _ in outcomes)
    assert "3 times in a row" in outcomes[-1][1] and "not asked again" in outcomes[-1][1]
