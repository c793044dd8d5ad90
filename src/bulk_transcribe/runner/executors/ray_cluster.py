"""Joining Ray from the driver: a local instance of this machine, or an existing cluster."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from types import ModuleType

from bulk_transcribe.errors import ErrorKind, PermanentError

log = logging.getLogger(__name__)

RAY_MISSING = (
    "the Ray executor needs Ray, which is not installed: run "
    "pip install 'bulk-transcribe[ray]' (on every machine of the cluster), or use the "
    "default thread executor"
)
# A local instance has no other node to ship media to, and outcomes are small: a small object
# store keeps Ray from reserving a third of the machine's memory in /dev/shm.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2


def import_ray() -> ModuleType:
    """The ray module, or an error that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise PermanentError(ErrorKind.INVALID_INPUT, RAY_MISSING) from exc
    return ray


@dataclass(frozen=True)
class NodeInfo:
    node_id: str
    address: str
    cpus: float
    gpus: float


def connect(address: str | None, *, num_cpus: int | None = None) -> bool:
    """Attach this process to Ray; True when it started a local instance it must shut down.

    Without an address a new local instance starts (never one found through RAY_ADDRESS or
    a `ray start` on this machine: the user asked for none); with one, the driver joins that
    cluster. A process already attached stays attached, whoever attached it.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    try:
        if address:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        else:
            ray.init(
                address="local",
                num_cpus=num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                log_to_driver=False,
                configure_logging=False,
            )
    except (ConnectionError, TimeoutError, ray.exceptions.RayError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise PermanentError(
            ErrorKind.NETWORK,
            f"could not connect to {where}: {exc}. Check that `ray start --head` runs there "
            "and that this machine reaches its port; with token authentication on, the "
            "cluster's token must be here too (RAY_AUTH_MODE=token and ~/.ray/auth_token or "
            "RAY_AUTH_TOKEN)",
        ) from exc
    return True


def alive_nodes() -> list[NodeInfo]:
    """The cluster's live nodes, with the CPUs and GPUs each offers."""
    ray = import_ray()
    nodes = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        resources = node.get("Resources", {})
        nodes.append(
            NodeInfo(
                node_id=node["NodeID"],
                address=node.get("NodeManagerAddress", "?"),
                cpus=float(resources.get("CPU", 0.0)),
                gpus=float(resources.get("GPU", 0.0)),
            )
        )
    return nodes
