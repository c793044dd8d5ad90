"""Plain words for models, limits, error kinds and sheet advice."""

from __future__ import annotations

from bulk_transcribe.web.wording import (
    error_kind_label,
    is_retryable,
    model_label,
    rpm_label,
    web_advice,
)


def test_the_bundled_model_and_the_provider_default_limit_read_as_words() -> None:
    assert model_label("bundled:tiny.en") == "tiny.en (bundled, offline)"
    assert model_label("small.en") == "small.en"
    assert rpm_label(0, "deapi") == "provider default (300/min for DEAPI)"
    assert rpm_label(0, "local") == "no limit (runs on this computer)"
    assert rpm_label(120, "openai") == "120 requests per minute"


def test_error_kinds_read_as_sentences_and_http_answers_split_by_code() -> None:
    assert error_kind_label("decode") == "The audio could not be read"
    assert error_kind_label("something_new") == "Something new"
    assert is_retryable("http", "HTTP 502 Bad Gateway")
    assert not is_retryable("http", "HTTP 404 Not Found")
    assert not is_retryable("auth", "key rejected")


def test_sheet_errors_advise_the_widget_not_a_command_line_flag() -> None:
    message = (
        "links.csv has no column of links I recognise; its columns are: 'A', 'B'. "
        "Name the one holding the links with --column url=<name>"
    )
    advice = web_advice(message)
    assert "--column" not in advice and "Link column" in advice
