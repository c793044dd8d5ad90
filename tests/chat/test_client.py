"""The chat client's request budget: one per endpoint and key, shared by every process."""

from __future__ import annotations

from pathlib import Path

from bulk_transcribe.chat.client import ChatClient, chat_budget_id
from bulk_transcribe.settings import Settings
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
