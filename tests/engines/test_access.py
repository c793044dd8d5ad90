"""One cheap request before any paid work: a missing key, a rejected key, an unreachable
endpoint and a working setup told apart, against fake providers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bulk_transcribe import service
from bulk_transcribe.engines.access import AccessProblem, check_access
from bulk_transcribe.settings import Settings
from tests.engines.conftest import DEAPI_KEY, OPENAI_KEY, RecordingHook
from tests.fakes.deapi_server import FakeDeapiServer
from tests.fakes.openai_server import FakeOpenAIServer
from tests.web.conftest import free_port


def openai_settings(base_url: str, key: str | None) -> Settings:
    return Settings(
        engine="openai",
        provider="openai",
        api_base=base_url,
        openai_api_key=SecretStr(key) if key else None,
    )


def test_a_missing_key_is_told_without_asking_the_provider() -> None:
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        check = service.providers.check_cloud_access(openai_settings(server.base_url, None))
        assert server.requests == []
    assert check.problem is AccessProblem.MISSING_KEY
    assert "OPENAI_API_KEY" in check.message


def test_a_rejected_key_is_told_apart_from_a_missing_one_and_never_shown() -> None:
    hook = RecordingHook()
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        check = check_access(openai_settings(server.base_url, "sk-wrong-key-value"), None, hook)
    assert check.problem is AccessProblem.REJECTED_KEY
    assert "rejected the API key" in check.message
    assert "sk-wrong-key-value" not in check.message
    assert [path for _, _, path in hook.seen] == ["/v1/models"]  # one request, in the budget


def test_a_working_key_gives_the_providers_model_list_in_one_request() -> None:
    with FakeOpenAIServer(api_key=OPENAI_KEY, models=("whisper-1", "whisper-large")) as server:
        check = service.providers.check_cloud_access(openai_settings(server.base_url, OPENAI_KEY))
        assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models")]
    assert check.ok and check.models == ("whisper-1", "whisper-large")


def test_a_server_without_a_model_list_is_reachable_and_usable() -> None:
    with FakeOpenAIServer(api_key=OPENAI_KEY, models=None) as server:
        check = service.providers.check_cloud_access(openai_settings(server.base_url, OPENAI_KEY))
    assert check.ok and check.models is None


def test_an_endpoint_that_does_not_answer_is_unreachable() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    check = service.providers.check_cloud_access(openai_settings(dead, OPENAI_KEY))
    assert check.problem is AccessProblem.UNREACHABLE


def test_deapi_is_tried_with_its_balance() -> None:
    with FakeDeapiServer(api_key=DEAPI_KEY, balance=3.5) as server:
        good = Settings(engine="deapi", deapi_base_url=server.url, deapi_api_key=DEAPI_KEY)
        bad = good.model_copy(update={"deapi_api_key": SecretStr("wrong")})
        assert service.providers.check_cloud_access(good).notes[0] == "DEAPI balance: $3.50"
        refused = service.providers.check_cloud_access(bad)
    assert refused.problem is AccessProblem.REJECTED_KEY
    missing = service.providers.check_cloud_setup(good.model_copy(update={"deapi_api_key": None}))
    assert missing.problem is AccessProblem.MISSING_KEY


def test_in_a_shared_app_only_the_operator_s_api_base_may_be_on_an_inside_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A teammate's API base is reached only where links may go; the operator's anywhere."""
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY", "1")
    with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        typed = openai_settings(server.base_url, OPENAI_KEY)
        assert typed.public_addresses_only
        refused = service.providers.check_cloud_access(typed)
        assert refused.problem is AccessProblem.UNREACHABLE
        assert "127.0.0.1 is this machine" in refused.message
        assert server.requests == []

        monkeypatch.setenv("BULK_TRANSCRIBE_API_BASE", server.base_url)  # the operator's own
        assert service.providers.check_cloud_access(typed).ok
        assert [r.path for r in server.requests] == ["/v1/models"]
