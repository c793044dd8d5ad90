"""Executors run units of work for the coordinator: threads by default."""

from bulk_transcribe.runner.executors.base import Executor
from bulk_transcribe.runner.executors.threads import ThreadExecutor

__all__ = ["Executor", "ThreadExecutor"]
