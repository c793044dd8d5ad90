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
