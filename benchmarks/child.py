"""Run one benchmark variant in a fresh child process, so its peak RSS is its own."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from queue import Empty
from typing import Any


def run_in_child(target: Callable[..., None], *args: Any) -> Any:
    """Call `target(*args, queue)` in a spawned process and return what it puts on the queue.

    Exits with a clear message when the child dies without answering.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    while True:
        try:
            result = queue.get(timeout=1.0)
            break
        except Empty:
            if not process.is_alive():
                raise SystemExit(f"benchmark child crashed (exit {process.exitcode})") from None
    process.join()
    return result
