"""One local Ray instance for every test here that needs one: starting Ray costs seconds."""

from __future__ import annotations

import pytest
import ray

from bulk_transcribe.runner.executors.ray_cluster import connect


@pytest.fixture(scope="package")
def ray_instance():
    """A local instance as `--executor ray` starts it: this machine's CPUs, no dashboard, a
    small object store."""
    assert connect(None, num_cpus=2), "something else attached this process to Ray"
    yield
    ray.shutdown()
