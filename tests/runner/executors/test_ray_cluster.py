"""Joining Ray: without Ray installed, the message says how to get it."""

from __future__ import annotations

import sys

import pytest

from bulk_transcribe.errors import PermanentError
from bulk_transcribe.runner.executors.ray_cluster import connect, import_ray


def test_ray_itself_is_installed_for_the_tests():
    assert import_ray().__version__


def test_without_ray_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra sees
    with pytest.raises(PermanentError) as caught:
        connect(None)
    assert "pip install 'bulk-transcribe[ray]'" in caught.value.message
