"""Two Ray nodes on one machine (`ray start --head` plus `ray start --address`, each with one
CPU): a provider's limit holds across both nodes, and losing the second node mid-run costs
only its in-flight items, which finish on the other node."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from bulk_transcribe.store import Store
from tests.engines.conftest import OPENAI_KEY
from tests.fakes.openai_server import FakeOpenAIServer
from tests.samples import SAMPLE_MEDIA

RAY = str(Path(sys.executable).with_name("ray"))
CLI = str(Path(sys.executable).with_name("bulk-transcribe"))
RUN_SECONDS = 300
NODE_START_SECONDS = 120.0
LIMIT, WINDOW = 6, 3.0  # the provider admits 6 requests per 3-second window
ITEMS = 12


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    head: subprocess.Popen
    second: subprocess.Popen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_node(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`ray start ... --block` in a process group of its own, so it can be killed alone."""
    return subprocess.Popen(
        [RAY, "start", "--block", "--disable-usage-stats", "--num-cpus", "1",
         "--object-store-memory", str(100 * 1024**2), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def kill_node(node: subprocess.Popen) -> None:
    """Like a machine lost: every process of the node dies at once (Ray's worker processes
    are children of the node's raylet, in process groups of their own)."""
    try:
        processes = [psutil.Process(node.pid), *psutil.Process(node.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        processes = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    node.wait(timeout=30)


def wait_for_nodes(address: str, count: int, env: dict[str, str]) -> None:
    """Asked from another process: this one stays free for the tests' local instance."""
    script = (
        "import ray, sys, time; ray.init(address=sys.argv[1], log_to_driver=False)\n"
        "while sum(n['Alive'] for n in ray.nodes()) < int(sys.argv[2]): time.sleep(0.2)"
    )
    subprocess.run(
        [sys.executable, "-c", script, address, str(count)],
        env=env,
        check=True,
        capture_output=True,
        timeout=NODE_START_SECONDS,
    )


def wait_for_port(address: str) -> None:
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + NODE_START_SECONDS
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "the Ray head did not start"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster():
    # Ray 2.59+ turns token authentication on for `ray start --head`; the joining node and
    # every driver would need the token, so this private test cluster runs without.
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    address = f"127.0.0.1:{free_port()}"
    head = start_node(
        ["--head", "--port", address.rsplit(":", 1)[1], "--include-dashboard=false"], env
    )
    second = start_node(["--address", address], env)
    try:
        wait_for_port(address)
        wait_for_nodes(address, 2, env)
        yield Cluster(address, env, head, second)
    finally:
        kill_node(second)
        kill_node(head)


def working_on(node: subprocess.Popen) -> bool:
    """Whether a worker process of this node runs an item now (Ray names a worker's process
    after the task it runs)."""
    try:
        workers = psutil.Process(node.pid).children(recursive=True)
        return any("cloud_unit" in worker.name() for worker in workers)
    except psutil.NoSuchProcess:
        return False


def batch(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for index in range(count):
        path = folder / f"episode_{index:02d}{SAMPLE_MEDIA[1].suffix}"
        shutil.copy(SAMPLE_MEDIA[1], path)
        paths.append(path)
    return paths


def test_one_limit_across_two_nodes_and_a_lost_node_costs_nothing(cluster, tmp_path):
    media = batch(tmp_path / "media", ITEMS)
    out = tmp_path / "out"
    with FakeOpenAIServer(
        api_key=OPENAI_KEY, rpm=LIMIT, window_seconds=WINDOW, latency=0.5
    ) as server:
        # The real CLI is the driver, joining the cluster as a user's would.
        run = subprocess.Popen(
            [CLI, "run", *map(str, media), "--out", str(out), "--engine", "openai",
             "--api-base", server.base_url, "--rpm", str(LIMIT), "-j", "4",
             "--executor", "ray", "--ray-address", cluster.address],
            env={**cluster.env, "OPENAI_API_KEY": OPENAI_KEY,
                 "BULK_TRANSCRIBE_RATE_WINDOW_SECONDS": str(WINDOW)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        while not working_on(cluster.second):
            assert run.poll() is None, "the run ended before the second node got any work"
            time.sleep(0.05)
        kill_node(cluster.second)
        output, _ = run.communicate(timeout=RUN_SECONDS)
        statuses = server.status_counts
    assert run.returncode == 0, output
    assert statuses.get(429, 0) == 0, statuses
    with Store(out / "bulk_transcribe.db") as store:
        (session,) = store.list_sessions()
        assert store.counts(session.id).done == ITEMS
        lost = [e for e in store.events(session.id) if e.kind == "worker_lost"]
    assert lost, "no item was lost with the node"
    notes = list(session.folder.glob("*.md"))
    assert len(notes) == ITEMS
    for note in notes:
        assert "This is the transcript of episode_" in note.read_text(encoding="utf-8")
