"""The service layer's job launcher: what a job started from the web app inherits."""

from __future__ import annotations

import pytest

from bulk_transcribe import service


def test_a_job_never_inherits_the_web_app_s_sign_in_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BULK_TRANSCRIBE_UI_PASSWORD_HASH", "scrypt$…")
    monkeypatch.setenv("BULK_TRANSCRIBE_UI_SIGNING_KEY", "key")
    monkeypatch.setenv("BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY", "1")

    inherited = service.sessions._job_environment()

    assert not [name for name in inherited if name.startswith("BULK_TRANSCRIBE_UI_")]
    assert inherited["BULK_TRANSCRIBE_PUBLIC_ADDRESSES_ONLY"] == "1"  # the policy goes along
