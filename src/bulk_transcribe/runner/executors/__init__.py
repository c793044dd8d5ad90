"""Executors run units of work for the coordinator: threads by default, or a Ray cluster."""

from bulk_transcribe.runner.executors.base import Executor
from bulk_transcribe.runner.executors.threads import ThreadExecutor
from bulk_transcribe.settings import Settings


def check_executor(settings: Settings) -> None:
    """Raise a PermanentError saying how to fix it when the chosen executor cannot run here."""
    if settings.executor == "ray":
        from bulk_transcribe.runner.executors.ray_cluster import import_ray

        import_ray()


def create_executor(settings: Settings) -> Executor | None:
    """The executor the settings ask for; None is the runner's own thread executor. The
    caller owns (and closes) what it gets."""
    if settings.executor == "ray":
        from bulk_transcribe.runner.executors.ray_executor import RayExecutor  # Ray optional

        return RayExecutor(settings, settings.ray_address)
    return None


__all__ = ["Executor", "ThreadExecutor", "check_executor", "create_executor"]
