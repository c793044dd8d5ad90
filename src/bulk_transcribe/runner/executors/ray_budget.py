"""One request budget per provider for a whole Ray cluster: a keeper actor and its clients.

The keeper is a named actor on the head node holding one in-memory budget per provider
(the same policy as on one machine: 95 % of the limit in every sliding window, Retry-After
pauses, an allowance learned from 429s that climbs back after quiet periods). Every worker,
and the driver for its live numbers, reaches it through `ClusterBackend`, which implements the
limiter's backend protocol, so engines and hooks do not know where their budget lives.
Admission is decided on the keeper's clock alone; waits happen on the caller's side.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import ray

from bulk_transcribe import workscope
from bulk_transcribe.runner.ratelimit import (
    MAX_PAUSE_SECONDS,
    BucketBackend,
    BudgetPolicy,
    LimitChange,
    LimiterStats,
    RateLimitHook,
    label_of,
    memory_backend,
    use_remote_budgets,
    wait_for_admission,
)
from bulk_transcribe.runner.work import report_rate_limit_violation, report_rate_limit_wait
from bulk_transcribe.settings import Settings

KEEPER_NAME = "budget-keeper"
KEEPER_RESTART_TRIES = 150  # times KEEPER_RESTART_POLL_SECONDS: half a minute at most
KEEPER_RESTART_POLL_SECONDS = 0.2
NAMESPACE = "bulk-transcribe"
# The head node outlives every worker node; a keeper there survives any of them leaving.
ON_HEAD_NODE = {"node:__internal_head__": 0.001}


@ray.remote(num_cpus=0, max_restarts=-1)
class BudgetKeeper:
    """Every provider's budget for the cluster; changes wait here until the driver takes them."""

    def __init__(self) -> None:
        self._budgets: dict[str, BucketBackend] = {}
        self._changes: list[LimitChange] = []

    def configure(
        self,
        provider_id: str,
        rpm: int | None,
        window_seconds: float,
        quiet_seconds: float,
        max_pause_seconds: float = MAX_PAUSE_SECONDS,
        forgotten: bool = False,
    ) -> None:
        """Set up (or update) a provider's budget; `forgotten`: a client knew it before, so
        this keeper was restarted and lost its window: it starts at half the allowance."""
        budget = self._budgets.get(provider_id)
        if budget is None:
            policy = BudgetPolicy(
                rpm,
                window_seconds=window_seconds,
                quiet_seconds=quiet_seconds,
                max_pause_seconds=max_pause_seconds,
            )
            budget = memory_backend(label_of(provider_id), policy, self._changes.append)
            if forgotten:
                budget.restart_conservatively()
            self._budgets[provider_id] = budget
            return
        budget.policy.window_seconds = window_seconds
        budget.policy.quiet_seconds = quiet_seconds
        budget.policy.max_pause_seconds = max_pause_seconds
        if rpm is not None:
            budget.policy.rpm = rpm

    def try_acquire(self, provider_id: str, weight: int) -> float | None:
        """0 when admitted, else the seconds worth waiting before asking again; None when
        this keeper does not know the budget (it was restarted): configure it again."""
        budget = self._budgets.get(provider_id)
        return None if budget is None else budget.try_acquire(weight)

    def record_429(self, provider_id: str, sent_at: float, retry_after: float | None) -> Any:
        budget = self._budgets.get(provider_id)
        return None if budget is None else budget.record_429(sent_at, retry_after)

    def observe_limits(
        self, provider_id: str, remaining: int | None, reset_seconds: float | None
    ) -> bool | None:
        budget = self._budgets.get(provider_id)
        if budget is None:
            return None
        budget.observe_limits(remaining, reset_seconds)
        return True

    def stats(self, provider_id: str) -> LimiterStats | None:
        budget = self._budgets.get(provider_id)
        return None if budget is None else budget.stats()

    def changes(self) -> list[LimitChange]:
        changes, self._changes = self._changes, []
        return changes


def keeper() -> Any:
    """The cluster's keeper, started on first use; every driver and worker shares it."""
    return BudgetKeeper.options(
        name=KEEPER_NAME,
        namespace=NAMESPACE,
        get_if_exists=True,
        lifetime="detached",  # budgets outlive one driver: the next session shares them
        resources=ON_HEAD_NODE,
    ).remote()


class ClusterBackend:
    """A provider's budget kept by the cluster's keeper (the limiter's backend protocol).

    `publish` hears of changes: on the driver they come from the keeper's list (whoever
    caused them), so the session's event log shows every 429 and every relaxation.
    """

    def __init__(
        self,
        provider_id: str,
        policy: BudgetPolicy,
        publish: Callable[[LimitChange], None] | None = None,
        *,
        drains_changes: bool = False,
    ):
        self.provider_id = provider_id
        self.label = label_of(provider_id)
        self.policy = policy
        self._keeper = keeper()
        self._publish = publish
        self._drains = drains_changes
        self._lock = threading.Lock()
        self._waiting = 0
        self._configured: tuple[int | None, float, float, float] | None = None
        self._configure()

    def _configure(self, *, forgotten: bool = False) -> None:
        """Tell the keeper this process's limit when it is new or changed (a later session
        may set another one), or when the keeper, restarted, forgot it."""
        policy = self.policy
        wanted = (
            policy.rpm,
            policy.window_seconds,
            policy.quiet_seconds,
            policy.max_pause_seconds,
        )
        if wanted != self._configured or forgotten:
            ray.get(self._keeper.configure.remote(self.provider_id, *wanted, forgotten))
            self._configured = wanted

    def _ask(self, method: str, *args: Any) -> Any:
        """One call to the keeper; a keeper restarted since (its budgets gone) is told this
        budget again, starting conservatively, and asked once more."""
        answer = self._call(method, *args)
        if answer is None:
            self._configure(forgotten=True)
            answer = self._call(method, *args)
        return answer

    def _call(self, method: str, *args: Any) -> Any:
        """A keeper being restarted is unavailable for a moment: wait for it, boundedly."""
        for _ in range(KEEPER_RESTART_TRIES):
            try:
                return ray.get(getattr(self._keeper, method).remote(self.provider_id, *args))
            except ray.exceptions.ActorUnavailableError:
                workscope.sleep(KEEPER_RESTART_POLL_SECONDS)
        return ray.get(getattr(self._keeper, method).remote(self.provider_id, *args))

    def acquire(
        self,
        weight: int = 1,
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
        on_wait: Callable[[bool], None] | None = None,
    ) -> float:
        self._configure()
        with self._counted_waiting():
            return wait_for_admission(
                lambda: self._ask("try_acquire", weight),
                self.label,
                timeout,
                cancel,
                on_wait,
            )

    def record_429(self, sent_at: float, retry_after: float | None) -> LimitChange:
        return self._ask("record_429", sent_at, retry_after)

    def observe_limits(self, remaining: int | None, reset_seconds: float | None) -> None:
        self._ask("observe_limits", remaining, reset_seconds)

    def stats(self) -> LimiterStats:
        stats = self._ask("stats")
        if self._drains and self._publish is not None:
            for change in ray.get(self._keeper.changes.remote()):
                self._publish(change)
        return replace(stats, waiting=self._waiting)

    def close(self) -> None:
        """The keeper stays: other sessions and drivers share its budgets."""

    @contextlib.contextmanager
    def _counted_waiting(self) -> Iterator[None]:
        with self._lock:
            self._waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1


def use_cluster_budgets(*, driver: bool) -> None:
    """From now on this process's budgets are the cluster's. The driver's also bring every
    change (whoever caused it) to its session's event log."""
    use_remote_budgets(
        functools.partial(ClusterBackend, drains_changes=True) if driver else ClusterBackend
    )


def stop_using_cluster_budgets() -> None:
    use_remote_budgets(None)


def worker_hook(settings: Settings) -> RateLimitHook:
    """The rate-limit hook of an engine on a worker: the cluster's budgets, and waits and
    429s told to the coordinator through the reporter of the unit being worked on."""
    use_cluster_budgets(driver=False)
    return RateLimitHook.for_settings(
        settings, on_wait=report_rate_limit_wait, on_violation=report_rate_limit_violation
    )
