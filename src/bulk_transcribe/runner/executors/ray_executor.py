"""The Ray executor: the same four methods as the thread executor, on a Ray cluster.

Local speech-to-text runs in one actor per node (the model loaded once, the node's cores or
one GPU to itself); cloud engines run as light tasks spread over the nodes. Workers fetch their
own media; a local file of the driver's machine reaches other nodes through the object store.
Progress comes back through a mailbox actor on the driver's node, outcomes as the work's return
values. A node lost mid-run costs only the work it had: that work is submitted again elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulk_transcribe.engines import create_engine
from bulk_transcribe.errors import ErrorKind
from bulk_transcribe.runner.executors.ray_cluster import alive_nodes, connect, import_ray
from bulk_transcribe.runner.work import ItemError, Message, Outcome, Progress, WorkUnit
from bulk_transcribe.settings import Settings

log = logging.getLogger(__name__)

WAIT_STEP_SECONDS = 0.05  # how often poll looks at both outcomes and the mailbox
NODES_REFRESH_SECONDS = 5.0  # new nodes get a speech actor; shipping needs the node count
CANCEL_GRACE_SECONDS = 5.0  # a cancelled unit still running after this is killed
MAX_LOST_WORKERS = 3  # a unit whose worker died this often fails (transient) instead
ACTOR_READY_SECONDS = 300.0  # loading a model or starting workers on a busy node is slow
CLOUD_TASK_CPUS = 0.1  # waits on the network; a tenth of a core keeps Ray's count sane


@dataclass
class _Running:
    unit: WorkUnit
    ref: Any  # ObjectRef[Outcome]
    worker: Any = None  # the speech actor, for local speech-to-text
    media: Any = None  # LocalMedia, kept alive while the unit runs
    lost_workers: int = 0
    cancel_asked: float | None = None
    killed: bool = False


@dataclass
class _SpeechPool:
    """One speech actor per node; units go to the least busy live actor."""

    make: Callable[[str, float, float], Any]
    actors: dict[str, Any] = field(default_factory=dict)  # node id -> actor
    load: dict[str, int] = field(default_factory=dict)

    def grow(self, nodes: list[Any]) -> list[Any]:
        """An actor for each live node without one; returns the new actors."""
        created = []
        for node in nodes:
            if node.node_id not in self.actors and (node.cpus >= 1 or node.gpus >= 1):
                actor = self.make(node.node_id, node.cpus, node.gpus)
                self.actors[node.node_id] = actor
                self.load[node.node_id] = 0
                created.append(actor)
        return created

    def pick(self) -> tuple[str, Any] | None:
        if not self.actors:
            return None
        node_id = min(self.actors, key=lambda n: self.load[n])
        self.load[node_id] += 1
        return node_id, self.actors[node_id]

    def done(self, actor: Any) -> None:
        for node_id, known in self.actors.items():
            if known is actor:
                self.load[node_id] = max(0, self.load[node_id] - 1)

    def drop(self, actor: Any) -> None:
        for node_id, known in list(self.actors.items()):
            if known is actor:
                del self.actors[node_id]
                del self.load[node_id]


class RayExecutor:
    """Runs units of work on a Ray cluster (a local instance when no address is given)."""

    def __init__(
        self,
        settings: Settings,
        address: str | None = None,
    ):
        self._ray = ray = import_ray()
        from bulk_transcribe.runner.executors import ray_budget, ray_workers

        self._workers = ray_workers
        self._budget = ray_budget
        self._owns_ray = connect(address)
        # Every provider's budget is the cluster's, for the workers and this coordinator alike.
        ray_budget.use_cluster_budgets(driver=True)
        self._address = address
        self._driver_node = ray.get_runtime_context().get_node_id()
        pinned = self._pinned(self._driver_node)
        self._mailbox = ray_workers.Mailbox.options(scheduling_strategy=pinned).remote()
        # Caches and downloads of workers on this node go where a thread run puts them.
        settings = settings.model_copy(update={"out_dir": Path(settings.out_dir).resolve()})
        self._settings = settings
        self._settings_ref = ray.put(settings)
        self._running: dict[int, _Running] = {}
        self._notes: list[Message] = []
        self._nodes = alive_nodes()
        self._nodes_at = time.monotonic()
        self._pool: _SpeechPool | None = None
        if settings.engine == "local":
            # What the engine decodes on, without loading its model here.
            self._device = create_engine(settings, None).decoding.get("device", "cpu")
            self._pool = _SpeechPool(self._make_speech_worker)
            self._wait_ready(self._pool.grow(self._nodes))
        else:
            self._warm_cloud_workers(settings.concurrency)

    # --- the executor protocol ------------------------------------------------------------

    def submit(self, unit: WorkUnit) -> None:
        self._refresh_nodes()
        media = self._ship(unit)
        running = _Running(unit=unit, ref=None, media=media)
        self._running[unit.item.id] = running
        self._start(running)

    def cancel(self, item_id: int) -> None:
        running = self._running.get(item_id)
        if running is None or running.cancel_asked is not None:
            return
        running.cancel_asked = time.monotonic()
        self._mailbox.cancel.remote(item_id, running.unit.attempt)

    def poll(self, timeout: float) -> list[Message]:
        ray = self._ray
        deadline = time.monotonic() + timeout
        while True:
            self._refresh_nodes()
            self._escalate_cancels()
            refs = [r.ref for r in self._running.values()]
            ready = ray.wait(refs, num_returns=len(refs), timeout=0)[0] if refs else []
            # Drained after the outcomes were found ready: their progress is all in there.
            messages: list[Message] = [*self._notes, *ray.get(self._mailbox.drain.remote())]
            self._notes = []
            by_ref = {r.ref: r for r in self._running.values()}
            for ref in ready:
                outcome = self._finish(by_ref[ref])
                if outcome is not None:
                    messages.append(outcome)
            messages.extend(self._notes)
            self._notes = []
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            step = min(WAIT_STEP_SECONDS, remaining)
            if refs:
                ray.wait(refs, num_returns=1, timeout=step)
            else:
                time.sleep(step)

    def close(self) -> None:
        """Stops everything without waiting: tasks are cancelled, actors killed."""
        ray = self._ray
        for running in self._running.values():
            if running.worker is None:
                ray.cancel(running.ref, force=True)
        self._running.clear()
        if self._pool is not None:
            for actor in self._pool.actors.values():
                ray.kill(actor, no_restart=True)
            self._pool.actors.clear()
        ray.kill(self._mailbox, no_restart=True)
        self._budget.stop_using_cluster_budgets()
        if self._owns_ray:
            ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- starting and finishing units -----------------------------------------------------

    def _start(self, running: _Running) -> None:
        unit = running.unit
        workers = self._workers
        # A link with credentials is stored scrubbed; the worker gets the real one with its
        # unit (WorkUnit.real_link), in memory, as a detached job gets it through a pipe.
        if self._pool is None:
            running.ref = workers.cloud_unit.options(
                num_cpus=CLOUD_TASK_CPUS, scheduling_strategy="SPREAD"
            ).remote(unit, self._settings_ref, running.media, self._mailbox, self._driver_node)
            return
        picked = self._pool.pick()
        if picked is None:  # every node is gone: find out whether new ones came
            self._refresh_nodes(force=True)
            picked = self._pool.pick()
        if picked is None:
            running.ref = self._ray.put(self._lost(unit, "no node of the cluster is left"))
            return
        _node, actor = picked
        running.worker = actor
        running.ref = actor.run.remote(unit, running.media, self._mailbox)

    def _finish(self, running: _Running) -> Outcome | None:
        """The outcome of a unit whose work returned; None when it was started again."""
        ray = self._ray
        unit = running.unit
        if running.worker is not None and self._pool is not None:
            self._pool.done(running.worker)
        try:
            outcome = ray.get(running.ref)
        except ray.exceptions.TaskCancelledError:
            outcome = Outcome(item_id=unit.item.id, attempt=unit.attempt, cancelled=True)
        except ray.exceptions.RayTaskError as exc:  # a bug around run_unit, not a lost node
            log.error("worker error on %s: %s", unit.item.source, exc)
            error = ItemError(str(ErrorKind.INTERNAL), f"worker error: {exc.cause!r}", False)
            outcome = Outcome(item_id=unit.item.id, attempt=unit.attempt, error=error)
        except ray.exceptions.RayError as exc:  # the worker, its node or its actor died
            outcome = self._worker_lost(running, exc)
            if outcome is None:
                return None
        del self._running[unit.item.id]
        if running.cancel_asked is not None:
            self._mailbox.forget.remote(unit.item.id, unit.attempt)
        return outcome

    def _worker_lost(self, running: _Running, exc: Exception) -> Outcome | None:
        unit = running.unit
        if running.worker is not None and self._pool is not None:
            self._pool.drop(running.worker)
        if running.cancel_asked is not None:
            return Outcome(item_id=unit.item.id, attempt=unit.attempt, cancelled=True)
        running.lost_workers += 1
        reason = type(exc).__name__
        if running.lost_workers > MAX_LOST_WORKERS:
            return self._lost(unit, f"its worker was lost {running.lost_workers} times ({reason})")
        log.warning("worker of %s lost (%s); starting it again", unit.item.source, reason)
        self._notes.append(
            Progress(
                item_id=unit.item.id,
                attempt=unit.attempt,
                event=("worker_lost", f"a Ray worker was lost ({reason}); starting the item again"),
            )
        )
        self._refresh_nodes(force=True)
        self._start(running)
        return None

    def _lost(self, unit: WorkUnit, why: str) -> Outcome:
        error = ItemError(
            str(ErrorKind.NETWORK),
            f"{why}; it will be retried (check the Ray cluster with `ray status`)",
            True,
        )
        return Outcome(item_id=unit.item.id, attempt=unit.attempt, error=error)

    def _escalate_cancels(self) -> None:
        """A unit cancelled but still running past the grace period is killed: its task, or
        its actor (whose other units start again on a new one)."""
        now = time.monotonic()
        for running in self._running.values():
            asked = running.cancel_asked
            if asked is None or running.killed or now - asked < CANCEL_GRACE_SECONDS:
                continue
            running.killed = True
            if running.worker is None:
                self._ray.cancel(running.ref, force=True)
            else:
                log.warning("killing the speech actor stuck on %s", running.unit.item.source)
                self._ray.kill(running.worker, no_restart=True)

    # --- nodes, actors and media ----------------------------------------------------------

    def _pinned(self, node_id: str) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)

    def _make_speech_worker(self, node_id: str, cpus: float, gpus: float) -> Any:
        # A model on CUDA wants a GPU to itself; on CPU, the node's cores (one item at a time
        # transcribes, on the model's one worker; the actor's second thread fetches the next).
        on_gpu = gpus >= 1 and self._device == "cuda"
        resources = {"num_gpus": 1} if on_gpu else {"num_cpus": cpus}
        return self._workers.SpeechWorker.options(
            scheduling_strategy=self._pinned(node_id), max_concurrency=2, **resources
        ).remote(self._settings_ref, self._driver_node)

    def _wait_ready(self, actors: list[Any]) -> None:
        """Load the models before the clock starts, like the thread executor's warm-up."""
        if not actors:
            return
        ready, _ = self._ray.wait(
            [a.node.remote() for a in actors], num_returns=len(actors), timeout=ACTOR_READY_SECONDS
        )
        for ref in ready:
            self._ray.get(ref)  # a model that failed to load raises its error here

    def _warm_cloud_workers(self, count: int) -> None:
        """Start the worker processes (and their engines) before the clock starts, as the
        thread executor imports the SDK first: a cold process costs seconds per item."""
        warm = self._workers.warm_cloud_worker.options(
            num_cpus=CLOUD_TASK_CPUS, scheduling_strategy="SPREAD"
        )
        refs = [
            warm.remote(self._settings_ref, self._mailbox, self._driver_node, count)
            for _ in range(count)
        ]
        ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=ACTOR_READY_SECONDS)
        for ref in ready:
            try:
                self._ray.get(ref)
            except self._ray.exceptions.RayTaskError as exc:  # each item will report it
                log.warning("warming up a Ray worker failed: %s", exc.cause)

    def _refresh_nodes(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._nodes_at < NODES_REFRESH_SECONDS:
            return
        self._nodes = alive_nodes()
        self._nodes_at = time.monotonic()
        if self._pool is not None:
            alive = {n.node_id for n in self._nodes}
            for node_id in [n for n in self._pool.actors if n not in alive]:
                self._pool.drop(self._pool.actors[node_id])
            self._pool.grow(self._nodes)

    def _ship(self, unit: WorkUnit) -> Any:
        """A local file's bytes go into the object store when another node may need them."""
        if not self._workers.is_local_file(unit):
            return None
        data = None
        if len(self._nodes) > 1:
            try:
                data = self._ray.put(Path(unit.item.source).read_bytes())
            except OSError:
                data = None  # the worker reports the missing file as the thread run would
        return self._workers.LocalMedia(self._driver_node, unit.item.source, data)
