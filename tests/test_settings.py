"""One settings object: validated early, and nothing secret leaves it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bulk_transcribe.engines import create_engine
from bulk_transcribe.errors import PermanentError
from bulk_transcribe.settings import (
    EngineSettings,
    OutputSettings,
    ResearchSettings,
    RunSettings,
    Settings,
    SourceSettings,
    WebSettings,
    describe_invalid,
)

GROUPS = (
    OutputSettings,
    EngineSettings,
    RunSettings,
    SourceSettings,
    ResearchSettings,
    WebSettings,
)


def test_public_settings_hold_no_key_and_no_proxy_password(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("DEAPI_API_KEY", "deapi-very-secret")
    settings = Settings(proxy="http://bob:hunter2@proxy.example:3128")

    public = settings.public_dict()

    assert settings.openai_api_key.get_secret_value() == "sk-very-secret"
    text = repr(public)
    assert "very-secret" not in text and "hunter2" not in text
    assert public["proxy"] == "http://bob:***@proxy.example:3128"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("concurrency", 0, "greater than or equal to 1"),
        ("concurrency", 11, "less than or equal to 10"),
        ("formats", "md,docx", "unknown format"),
        ("speakers", "many", "auto or a number"),
        ("speakers", "50", "auto or a number"),
        ("device", "tpu", "auto, cpu or cuda"),
        ("speaker_encoder", "xvector", "auto, campplus, resemblyzer"),
    ],
)
def test_bad_values_are_refused_with_a_clear_reason(field, value, message) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})


def test_formats_and_language_are_normalised() -> None:
    settings = Settings(formats=" .SRT, md,srt ", language="AUTO")

    assert settings.formats == ("srt", "md")
    assert settings.language is None


@pytest.mark.parametrize(
    ("given", "speakers"), [(None, None), ("off", None), ("AUTO", "auto"), ("2", 2), (3, 3)]
)
def test_speaker_labels_are_off_auto_or_a_count(given, speakers) -> None:
    assert Settings(speakers=given).speakers == speakers


@pytest.mark.parametrize(
    ("given", "encoder"),
    [
        (None, "auto"),
        ("", "auto"),
        ("CAM++", "campplus"),
        (" campplus ", "campplus"),
        ("Resemblyzer", "resemblyzer"),
    ],
)
def test_the_speaker_encoder_is_auto_unless_one_is_named(given, encoder) -> None:
    assert Settings(speaker_encoder=given).speaker_encoder == encoder


def test_every_setting_belongs_to_exactly_one_group() -> None:
    owners = {
        name: [g.__name__ for g in GROUPS if name in g.model_fields]
        for name in Settings.model_fields
    }
    assert {name: groups for name, groups in owners.items() if len(groups) != 1} == {}


def test_each_group_validates_on_its_own() -> None:
    assert SourceSettings(date_after="20240131").date_after.isoformat() == "2024-01-31"
    with pytest.raises(ValidationError, match="auto, cpu or cuda"):
        EngineSettings(device="tpu")


def test_an_unknown_engine_is_refused_when_it_is_made_not_by_the_settings() -> None:
    settings = Settings(engine="whisperx")  # settings know no engine registry

    with pytest.raises(PermanentError, match="unknown engine 'whisperx'"):
        create_engine(settings)


@pytest.mark.parametrize("language", ["klingon", "English", "q", "en us", "12"])
def test_a_language_that_is_not_a_code_is_refused_without_quoting_it(language: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(language=language)
    described = describe_invalid(caught.value)
    assert "language" in described and "not a language code" in described
    assert language not in described


@pytest.mark.parametrize(("given", "kept"), [("EN", "en"), ("haw", "haw"), ("pt-BR", "pt")])
def test_language_codes_pass_in_any_case(given: str, kept: str) -> None:
    assert Settings(language=given).language == kept


@pytest.mark.parametrize(("given", "meant"), [("jp", "ja"), ("cn", "zh"), ("xx", None)])
def test_a_code_whisper_does_not_know_is_refused_before_any_item(given: str, meant: str) -> None:
    """A multilingual model would refuse it on every item."""
    with pytest.raises(ValidationError) as caught:
        Settings(language=given)
    described = describe_invalid(caught.value)
    assert "not a language Whisper knows" in described
    assert (f"did you mean {meant}?" in described) if meant else "did you mean" not in described
