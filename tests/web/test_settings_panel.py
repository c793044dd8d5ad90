"""Choices in the Settings panel become Settings; keys never reach the disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from bulk_transcribe import service
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from bulk_transcribe.web.panels.settings_panel import (
    PREFERENCES_FILE,
    RunChoices,
    build_settings,
    load_preferences,
    save_preferences,
)


@pytest.fixture
def base(tmp_path: Path) -> Settings:
    return Settings(out_dir=tmp_path / "out")


def test_the_speaker_labels_choice_reaches_the_settings(base: Settings) -> None:
    assert build_settings(RunChoices(), base).speakers is None
    assert build_settings(RunChoices(speakers="auto"), base).speakers == "auto"
    assert build_settings(RunChoices(speakers="3"), base).speakers == 3


def test_the_voice_encoder_choice_reaches_the_settings(base: Settings) -> None:
    assert build_settings(RunChoices(), base).speaker_encoder == "auto"
    chosen = RunChoices(speakers="auto", speaker_encoder="resemblyzer")
    assert build_settings(chosen, base).speaker_encoder == "resemblyzer"
    with pytest.raises(ValueError, match="speaker_encoder"):
        build_settings(RunChoices(speaker_encoder="xvector"), base)


def test_the_overlap_choice_reaches_the_settings(base: Settings) -> None:
    assert build_settings(RunChoices(), base).speaker_overlap is False
    chosen = RunChoices(speakers="auto", speaker_overlap=True)
    assert build_settings(chosen, base).speaker_overlap is True


def test_with_the_toggle_off_the_slider_is_ignored_and_runs_are_sequential(
    base: Settings,
) -> None:
    assert build_settings(RunChoices(parallel=False, concurrency=7), base).concurrency == 1
    assert build_settings(RunChoices(parallel=True, concurrency=7), base).concurrency == 7


def test_the_choices_carry_over_into_settings(base: Settings) -> None:
    choices = RunChoices(language="de", formats=("srt", "txt"), rpm=0, captions=False)
    settings = build_settings(choices, base)
    assert settings.language == "de"
    assert settings.formats == ("srt", "txt")
    assert settings.rpm is None  # 0 means the provider's preset
    assert settings.captions is False
    assert settings.out_dir == base.out_dir
    assert build_settings(RunChoices(rpm=120), base).rpm == 120


def test_the_ray_choice_is_stored_with_the_session(base: Settings) -> None:
    settings = build_settings(RunChoices(executor="ray", ray_address=" 10.0.0.5:6379 "), base)
    assert (settings.executor, settings.ray_address) == ("ray", "10.0.0.5:6379")
    assert settings.public_dict()["executor"] == "ray"  # a resume runs on Ray again
    local = build_settings(RunChoices(executor="ray"), base)
    assert local.ray_address is None  # no address: a local Ray instance


def test_a_shared_app_runs_only_on_the_ray_cluster_its_operator_named(base: Settings) -> None:
    """The job hands the cluster its settings, the server's keys included."""
    shared = base.model_copy(update={"public_addresses_only": True})
    typed = RunChoices(executor="ray", ray_address="collector.example.net:6379")
    assert build_settings(typed, shared).ray_address is None  # Ray on the server itself
    operator = shared.model_copy(update={"ray_address": "10.0.0.5:6379"})
    assert build_settings(typed, operator).ray_address == "10.0.0.5:6379"


def test_keys_are_secret_and_left_out_of_what_is_stored(base: Settings) -> None:
    settings = build_settings(RunChoices(), base, {"openai_api_key": "sk-test-123"})
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-test-123"
    assert "sk-test-123" not in json.dumps(settings.public_dict())
    assert "sk-test-123" not in repr(settings)


def test_a_bad_choice_is_reported_in_words(base: Settings) -> None:
    with pytest.raises(ValueError, match="choose at least one format"):
        build_settings(RunChoices(formats=()), base)


def test_preferences_round_trip_and_a_damaged_file_falls_back_to_defaults(
    tmp_path: Path,
) -> None:
    assert load_preferences(tmp_path) == RunChoices()  # first visit
    chosen = RunChoices(parallel=True, concurrency=4, formats=("md",), model="tiny.en")
    save_preferences(tmp_path, chosen)
    assert load_preferences(tmp_path) == chosen

    (tmp_path / PREFERENCES_FILE).write_text("{not json")
    assert load_preferences(tmp_path) == RunChoices()


def test_no_formats_are_never_remembered_for_the_next_tab(tmp_path: Path) -> None:
    """One tab's empty formats (cleared, or reset by a redraw) would otherwise disable Start
    in every tab opened after it: the file is where new tabs start."""
    save_preferences(tmp_path, RunChoices(formats=("srt",), concurrency=4))
    save_preferences(tmp_path, RunChoices(formats=(), concurrency=6))
    remembered = load_preferences(tmp_path)
    assert remembered.formats == ("srt",)
    assert remembered.concurrency == 6  # the rest of the change is kept

    (tmp_path / PREFERENCES_FILE).write_text('{"formats": [], "rpm": 30}')  # an older file
    assert load_preferences(tmp_path) == RunChoices(rpm=30)


def test_a_resumed_session_keeps_its_settings_and_honours_a_requested_concurrency(
    base: Settings, tmp_path: Path
) -> None:
    stored = build_settings(RunChoices(parallel=True, concurrency=5, language="fr"), base)
    with Store(tmp_path / "elsewhere" / "db.sqlite") as store:
        session = service.create_session(store, stored, [])
        resumed = service.resume_settings(
            store, session, concurrency=1, deapi_api_key=SecretStr("dk-1")
        )
    assert resumed.language == "fr"
    assert resumed.concurrency == 1
    assert resumed.out_dir == stored.out_dir.resolve()
    assert resumed.db_path == tmp_path / "elsewhere" / "db.sqlite"
    assert resumed.deapi_api_key is not None


def test_summaries_are_asked_for_only_with_a_chat_model() -> None:
    without = Settings(chat_api_base=None, chat_model=None)
    assert build_settings(RunChoices(summarize=True), without).summarize is False
    chat = Settings(chat_api_base="http://127.0.0.1:9/v1", chat_model="m")
    assert build_settings(RunChoices(summarize=True), chat).summarize is True
    assert build_settings(RunChoices(), chat).summarize is False


def test_vocabulary_hints_become_the_prompt_and_an_empty_field_keeps_the_environments(
    base: Settings,
) -> None:
    hinted = build_settings(RunChoices(hints="  Sweynheim,  Pannartz\n"), base)
    assert hinted.prompt == "Sweynheim, Pannartz"
    assert hinted.public_dict()["prompt"] == "Sweynheim, Pannartz"  # stored with the session
    assert build_settings(RunChoices(), base).prompt is None
    from_env = base.model_copy(update={"prompt": "Kubernetes"})
    assert build_settings(RunChoices(hints=" "), from_env).prompt == "Kubernetes"


def test_vocabulary_hints_are_remembered_for_the_next_visit(tmp_path: Path) -> None:
    save_preferences(tmp_path, RunChoices(hints="Nguyen, Kubernetes"))
    assert load_preferences(tmp_path).hints == "Nguyen, Kubernetes"
