"""A process that runs the model: numpy's BLAS on one thread, large buffers reused, what
was loaded kept out of later garbage collections."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Run apart: the settings are process-wide. OPENBLAS_NUM_THREADS asks for two threads,
# which OpenBLAS otherwise decides on its own (a thread per core). `churn` allocates, fills
# and frees a buffer the size of one window's attention scores (54 MB) ten times and counts
# the pages the kernel had to fault in for it (a bytearray: plain malloc, as the model's
# buffers are; numpy's own large arrays take huge pages).
PROBE = """
import gc, json, resource
from threadpoolctl import threadpool_info
from bulk_transcribe.engines.local_whisper import LocalWhisperEngine

def blas():
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

def churn():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        buffer = bytearray(54 << 20)  # malloc'ed and zeroed, as the model's are
        del buffer
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start

def state():
    return {"blas": blas(), "faults": churn(), "frozen": gc.get_freeze_count()}

before = state()
LocalWhisperEngine(cores=2).warm_up()
print(json.dumps({"before": before, "after": state()}))
"""
PAGES_PER_BUFFER = (54 << 20) // os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def probe() -> dict[str, dict[str, object]]:
    env = os.environ | {"OPENBLAS_NUM_THREADS": "2"}
    run = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(run.stdout)


def test_numpys_blas_runs_on_one_thread_once_the_model_is_loaded(probe) -> None:
    # numpy's BLAS found, with the two threads asked for (OpenBLAS caps them at the cores)
    assert probe["before"]["blas"] == [min(2, os.cpu_count() or 1)]
    assert probe["after"]["blas"] == [1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_large_buffers_are_reused_instead_of_faulted_in_afresh(probe) -> None:
    assert probe["before"]["faults"] >= 9 * PAGES_PER_BUFFER  # a fresh mapping each time
    assert probe["after"]["faults"] <= 2 * PAGES_PER_BUFFER  # the heap's pages, kept


def test_what_was_loaded_is_left_out_of_later_garbage_collections(probe) -> None:
    assert probe["before"]["frozen"] == 0
    assert probe["after"]["frozen"] > 10_000  # modules, the model's Python side


# `refill` frees 100 MB of heap blocks in the middle of the heap (a block stays above them),
# optionally gives freed memory back, then allocates as much again and counts the pages the
# kernel had to fault in for it.
TRIM_PROBE = """
import json, resource
from bulk_transcribe.engines.model_process import release_freed_memory, reuse_freed_memory

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def refill(release):
    blocks = [bytearray(1 << 20) for _ in range(100)]  # 1 MB each: the heap, not mmap
    above = bytearray(1 << 20)
    del blocks
    released = release_freed_memory() if release else None
    start = faults()
    blocks = [bytearray(1 << 20) for _ in range(100)]
    refilled = faults() - start
    del blocks, above
    return {"released": released, "faults": refilled}

reuse_freed_memory()  # the model process's settings (prepare_model_process)
print(json.dumps({"kept": refill(False), "given_back": refill(True)}))
"""
PAGES_IN_100_MB = (100 << 20) // os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_memory_is_given_back_when_asked() -> None:
    """A long recording's sections leave freed memory in the heaps of the threads that used
    it (650 MB after two hours); release_freed_memory hands it back to the system, so the
    next use faults fresh pages in instead of finding them resident."""
    run = subprocess.run(
        [sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, check=True
    )
    probe = json.loads(run.stdout)

    assert probe["kept"]["faults"] <= PAGES_IN_100_MB // 10  # freed, but still resident
    assert probe["given_back"]["released"] is True
    assert probe["given_back"]["faults"] >= PAGES_IN_100_MB * 9 // 10
