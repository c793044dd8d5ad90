"""A local media server for the source tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sources.media_server import MediaServer, running_server


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    with running_server() as server:
        yield server
