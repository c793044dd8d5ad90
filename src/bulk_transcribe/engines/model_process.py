"""How a process that runs the speech model uses the machine: set once, when the model loads.

All of it is process-wide. The local engine calls `prepare_model_process` before it loads
the model and `settle_after_loading` once it is loaded (local_whisper.acquire_shared).
"""

from __future__ import annotations

import ctypes
import gc
import logging
from typing import Any

log = logging.getLogger(__name__)

# glibc's mallopt() parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# The encoder's attention scores of one 30 s window are 6 heads x 1500 x 1500 floats: 54 MB,
# above glibc's largest automatic mmap threshold (32 MB). Each such buffer was mapped afresh,
# its pages faulted in and zeroed by the kernel, and unmapped again: 1.2-1.4 million page
# faults in a run of 11 minutes of speech. Served from the heap and kept for the next window
# instead: 0.2-0.4 million, the same run in 16-24 % less time in three alternating rounds,
# peak memory +20-150 MB (under 900 MB). Freed memory above the trim threshold still goes back.
MMAP_THRESHOLD_BYTES = 64 << 20
TRIM_THRESHOLD_BYTES = 128 << 20


def prepare_model_process() -> None:
    one_blas_thread()
    reuse_freed_memory()


def settle_after_loading() -> None:
    """Take everything loaded so far out of the garbage collector's later passes.

    Modules, the model's Python side, the store: they live as long as the process. But
    faster-whisper runs a full gc.collect() after decoding each file, and a full pass walks
    every object, ~20 ms in the CLI's process, holding the GIL the model's workers need to
    hand over their next window. Frozen (gc.freeze, after one last collection), a pass walks
    only what the run has made since: 60 clips of 10-30 s took 9-16 % less time in each of
    three alternating rounds, in process.
    """
    gc.collect()
    gc.freeze()


def one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread.

    faster-whisper computes each window's features with a numpy matrix product; numpy's
    OpenBLAS runs it on a thread per core, and those threads spin for a while after every
    product, on the cores the model's workers already fill (5 % of all CPU samples of a run
    under `perf`; without them the same run was faster in seven of eight alternating rounds,
    median 10.7 s against 12.4 s).
    threadpoolctl finds whichever BLAS numpy loaded and limits it for the whole process.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def reuse_freed_memory() -> bool:
    """Large model buffers from the heap, reused, instead of fresh pages each time (glibc).

    Written by hand: no maintained package sets these; it is one documented libc call each.
    Elsewhere (macOS, musl) nothing is changed. Returns whether the settings took effect.
    """
    mallopt = _libc_function("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    applied = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    applied = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and applied
    if not applied:
        log.debug("malloc settings not applied: not glibc")
    return applied


def release_freed_memory() -> bool:
    """Give the memory the process has freed back to the system now (glibc's malloc_trim).

    The model's worker threads and the item's thread each allocate from a glibc arena of
    their own, and freed memory inside an arena (not at its top) stays mapped: a two-hour
    recording's sections grew the process by 50-60 MB each although nothing they kept was
    that large, and after the last one 650 MB of it was free (1485 MB resident, 828 MB after
    a trim; benchmarks/memory_stages.py). The local engine calls this between the sections
    of a long recording and before its speaker stage; a short recording (one section) never.
    Written by hand: one documented libc call, which no maintained package wraps. Elsewhere
    (macOS, musl, Windows) nothing is done. Returns whether memory was given back.
    """
    trim = _libc_function("malloc_trim", ctypes.c_size_t)
    return trim is not None and trim(0) == 1


def _libc_function(name: str, *argtypes: type) -> Any:
    """The C library's function `name`, or None where it has none (not glibc); Windows has
    no CDLL(None)."""
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (AttributeError, OSError, TypeError):
        return None
    function.argtypes = argtypes
    return function
