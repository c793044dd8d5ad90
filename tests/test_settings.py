"""One settings object: validated early, and nothing secret leaves it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bulk_transcribe.settings import Settings


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
        ("engine", "whisperx", "unknown engine"),
        ("speakers", "many", "auto or a number"),
        ("speakers", "50", "auto or a number"),
        ("device", "tpu", "auto, cpu or cuda"),
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
