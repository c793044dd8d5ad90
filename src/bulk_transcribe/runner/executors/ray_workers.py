"""What runs inside Ray for the Ray executor: the mailbox, speech actors and cloud tasks.

Workers only compute: they run `run_unit` and send what they learn to a mailbox actor that
lives on the driver's node, which the coordinator drains; the outcome is the return value.
Importing this module needs Ray (the executor imports it only once Ray is there).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import pickle
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ray

from bulk_transcribe.engines import Engine, create_engine
from bulk_transcribe.errors import ErrorKind
from bulk_transcribe.models import SourceType
from bulk_transcribe.runner.executors.ray_budget import worker_hook
from bulk_transcribe.runner.work import (
    ItemError,
    Message,
    Outcome,
    UnitReporter,
    WorkUnit,
    run_unit,
)
from bulk_transcribe.settings import Settings

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 0.5
WARM_UP_SECONDS = 120.0  # starting worker processes on a busy node is slow
NODE_WORK_DIR = "bulk-transcribe-ray"  # under the node's temp folder: caches, shipped media


@ray.remote(num_cpus=0, max_restarts=0)
class Mailbox:
    """Messages from workers to the coordinator, and cancellations the other way.

    One caller's calls run in the order they were made, so a worker that waits for its last
    post before returning has every message in here before its outcome is ready.
    """

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._cancelled: set[tuple[int, int]] = set()
        self._arrivals = 0

    def arrive(self) -> int:
        """Counts warm-up tasks that reached their barrier; returns how many have."""
        self._arrivals += 1
        return self._arrivals

    def arrivals(self) -> int:
        return self._arrivals

    def post(self, messages: list[Message]) -> None:
        self._messages.extend(messages)

    def drain(self) -> list[Message]:
        messages, self._messages = self._messages, []
        return messages

    def cancel(self, item_id: int, attempt: int) -> None:
        self._cancelled.add((item_id, attempt))

    def is_cancelled(self, item_id: int, attempt: int) -> bool:
        return (item_id, attempt) in self._cancelled

    def forget(self, item_id: int, attempt: int) -> None:
        self._cancelled.discard((item_id, attempt))


@dataclass(frozen=True)
class LocalMedia:
    """A local file of the driver's machine, and its bytes for workers on other nodes."""

    node_id: str
    path: str
    data: Any = None  # ObjectRef[bytes]; None on a one-node cluster


def node_settings(settings: Settings, driver_node: str) -> Settings:
    """The settings as a worker on this node uses them: off the driver's node, caches go to
    a folder of this node (the driver's output folder is not there)."""
    if ray.get_runtime_context().get_node_id() == driver_node:
        return settings
    return settings.model_copy(update={"out_dir": Path(tempfile.gettempdir()) / NODE_WORK_DIR})


@contextlib.contextmanager
def reachable(unit: WorkUnit, media: LocalMedia | None) -> Iterator[WorkUnit]:
    """The unit with its local file on this node: the driver's path when this is the driver's
    node, else a temporary copy of the shipped bytes, removed afterwards."""
    here = ray.get_runtime_context().get_node_id()
    if media is None or here == media.node_id or media.data is None:
        yield unit
        return
    folder = Path(tempfile.mkdtemp(prefix="media-", dir=_work_dir()))
    try:
        copy = folder / Path(media.path).name
        copy.write_bytes(ray.get(media.data))
        yield replace(unit, item=replace(unit.item, source=str(copy)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _work_dir() -> Path:
    path = Path(tempfile.gettempdir()) / NODE_WORK_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


class _CancelWatch:
    """Sets the unit's cancel event once the coordinator cancels it (asked of the mailbox)."""

    def __init__(self, mailbox: Any, unit: WorkUnit, cancel: threading.Event):
        self._mailbox, self._unit, self._cancel = mailbox, unit, cancel
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="cancel-watch", daemon=True)
        self._thread.start()

    def _cancelled(self) -> bool:
        item = self._unit.item
        return bool(ray.get(self._mailbox.is_cancelled.remote(item.id, self._unit.attempt)))

    def _watch(self) -> None:
        # The first look is at once: the unit may have been cancelled while it waited.
        while True:
            try:
                if self._cancelled():
                    self._cancel.set()
                    return
            except ray.exceptions.RayError:  # the driver is gone: nobody wants the result
                self._cancel.set()
                return
            if self._done.wait(CANCEL_POLL_SECONDS):
                return

    def stop(self) -> None:
        self._done.set()


def run_remote(
    unit: WorkUnit,
    settings: Settings,
    media: LocalMedia | None,
    mailbox: Any,
    engine: Callable[[], Engine],
) -> Outcome:
    """One unit of work on this worker; its messages go to the mailbox, its outcome back."""
    cancel = threading.Event()
    watch = _CancelWatch(mailbox, unit, cancel)

    def send(message: Message) -> None:
        mailbox.post.remote([message])  # fire and forget: the flush below orders them

    reporter = UnitReporter(unit, send, cancel)
    try:
        with reachable(unit, media) as here:
            outcome = run_unit(here, settings, engine, reporter)
    except OSError as exc:  # the shipped copy could not be written on this node
        error = ItemError(
            str(ErrorKind.DISK_FULL), f"no room for the media on a worker: {exc}", True
        )
        outcome = Outcome(item_id=unit.item.id, attempt=unit.attempt, error=error)
    finally:
        watch.stop()
    ray.get(mailbox.post.remote([]))  # every message sent above is in the mailbox now
    return outcome


# --- engines, once per worker process ------------------------------------------------------

_engines: dict[bytes, Engine] = {}
_engines_lock = threading.Lock()


def process_engine(settings: Settings) -> Engine:
    """This process's engine for these settings: Ray reuses worker processes, so an engine
    (an HTTP client, an SDK) is built once per process, not once per item."""
    key = hashlib.sha256(pickle.dumps(settings)).digest()
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = create_engine(settings, worker_hook(settings))
        return engine


@ray.remote(max_retries=0)
def cloud_unit(
    unit: WorkUnit,
    settings: Settings,
    media: LocalMedia | None,
    mailbox: Any,
    driver_node: str,
) -> Outcome:
    """A cloud engine's unit: a light task; the provider does the heavy work."""
    here = node_settings(settings, driver_node)
    return run_remote(unit, here, media, mailbox, lambda: process_engine(here))


@ray.remote(max_retries=0)
def warm_cloud_worker(
    settings: Settings,
    mailbox: Any,
    driver_node: str,
    together: int,
) -> None:
    """Build this worker process's engine, then wait until `together` warm-ups run at once:
    Ray starts that many worker processes now, not when the first items need them."""
    process_engine(node_settings(settings, driver_node)).warm_up()
    ray.get(mailbox.arrive.remote())
    deadline = time.monotonic() + WARM_UP_SECONDS
    while ray.get(mailbox.arrivals.remote()) < together and time.monotonic() < deadline:
        time.sleep(0.05)


@ray.remote(max_restarts=0, max_task_retries=0)
class SpeechWorker:
    """Local speech-to-text on one node: loads the model once, then takes item after item."""

    def __init__(self, settings: Settings, driver_node: str):
        self._settings = node_settings(settings, driver_node)
        self._engine = create_engine(self._settings, None)
        self._engine.warm_up()

    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def run(self, unit: WorkUnit, media: LocalMedia | None, mailbox: Any) -> Outcome:
        return run_remote(unit, self._settings, media, mailbox, lambda: self._engine)

    def close(self) -> None:
        self._engine.close()


def is_local_file(unit: WorkUnit) -> bool:
    return unit.item.source_type is SourceType.LOCAL_FILE
