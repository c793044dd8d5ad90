"""The sidebar's account box: where each key comes from (never its value) and the balance."""

from __future__ import annotations

from pydantic import SecretStr

from bulk_transcribe.settings import Settings
from bulk_transcribe.web.panels.accounts import deapi_balance, key_status
from tests.fakes.deapi_server import FakeDeapiServer


def test_each_key_says_where_it_comes_from_without_showing_it() -> None:
    settings = Settings(openai_api_key=SecretStr("sk-from-env"))
    status = key_status(settings, {"deapi_api_key": "typed-here"})
    assert status == {
        "OpenAI-compatible": "set in the environment or .env",
        "DEAPI": "set in this browser session",
    }
    assert "sk-from-env" not in str(status) and "typed-here" not in str(status)


def test_the_deapi_balance_is_read_from_the_provider_and_a_refusal_is_said_plainly() -> None:
    with FakeDeapiServer(api_key="right-key", balance=7.25) as server:
        assert deapi_balance("right-key", server.url) == "$7.25"
        refused = deapi_balance("wrong-key", server.url)
    assert refused.startswith("unavailable (") and "wrong-key" not in refused
