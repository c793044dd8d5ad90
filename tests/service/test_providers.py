"""The service's provider doors: a key or a proxy kept in .env for the next start."""

from __future__ import annotations

import stat
from pathlib import Path

from bulk_transcribe import service
from bulk_transcribe.settings import Settings


def test_a_key_saved_in_env_is_read_back_by_the_settings_and_private(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("BULK_TRANSCRIBE_PROXY", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("BULK_TRANSCRIBE_ENGINE=openai\n")
    env_file.chmod(0o600)
    service.providers.save_in_env_file("OPENAI_API_KEY", "sk-with 'quotes' and #hash", env_file)
    service.providers.save_in_env_file("BULK_TRANSCRIBE_PROXY", "http://127.0.0.1:8080", env_file)
    service.providers.save_in_env_file(
        "OPENAI_API_KEY", "sk-replaced", env_file
    )  # replaced, not added

    settings = Settings(_env_file=env_file)
    assert settings.openai_api_key.get_secret_value() == "sk-replaced"
    assert settings.proxy == "http://127.0.0.1:8080" and settings.engine == "openai"
    assert env_file.read_text().count("OPENAI_API_KEY") == 1

    fresh = tmp_path / "new" / ".env"
    fresh.parent.mkdir()
    service.providers.save_in_env_file("OPENAI_API_KEY", "sk-1", fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600  # a new file: its owner's only
