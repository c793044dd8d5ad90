"""A scripted speech-to-text engine for whole-CLI scenarios where the real model adds nothing.

Run the real CLI with it: `python -m tests.fakes.scripted_cli run ... --engine scripted`.
What it does with an item is chosen by the media file's name:
- `slow*`: works SCRIPTED_ENGINE_SECONDS (default 0.3) while reporting progress, so Ctrl-C,
  SIGTERM and cancel can land mid-item (it honours cancellation like a real engine);
- `hang*`: waits forever in a thread pool of its own, deaf to cancellation, like a stuck C call;
- `gate*`: waits (honouring cancellation) until the file SCRIPTED_ENGINE_GATE exists, so a
  test decides when a run can end;
- anything else: answers at once.
Each finished transcription appends the file's stem to SCRIPTED_ENGINE_LOG, when set: the
count of real work done, across every process of a scenario. With SCRIPTED_ENGINE_SIGN set,
each log line and each transcript also names the process that made it (`stem@pid`).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bulk_transcribe.engines.base import EngineBase, EngineJob
from bulk_transcribe.models import MediaFile, Segment, Transcript
from bulk_transcribe.net import RequestHook
from bulk_transcribe.settings import Settings

_log_lock = threading.Lock()


class ScriptedCliEngine(EngineBase):
    name = "scripted"

    def __init__(self, model: str):
        self.model = model
        self._seconds = float(os.environ.get("SCRIPTED_ENGINE_SECONDS", "0.3"))
        self._log = os.environ.get("SCRIPTED_ENGINE_LOG")
        self._gate = os.environ.get("SCRIPTED_ENGINE_GATE")
        self._sign = f"@{os.getpid()}" if os.environ.get("SCRIPTED_ENGINE_SIGN") else ""

    @property
    def decoding(self) -> dict[str, object]:
        return {"script": "by file name"}

    def transcribe(self, media: MediaFile, job: EngineJob) -> Transcript:
        stem = media.path.stem
        if stem.startswith("hang"):
            pool = ThreadPoolExecutor(max_workers=1)  # its thread is joined at exit
            pool.submit(threading.Event().wait).result()
        if stem.startswith("gate"):
            while not (self._gate and Path(self._gate).exists()):
                time.sleep(0.05)
                job.on_progress(0.5)  # raises Cancelled when asked to stop
        if stem.startswith("slow"):
            steps = 10
            for step in range(steps):
                time.sleep(self._seconds / steps)
                job.on_progress((step + 1) / steps)  # raises Cancelled when asked to stop
        if self._log:
            with _log_lock, Path(self._log).open("a", encoding="utf-8") as log:
                log.write(stem + self._sign + "\n")
        return Transcript(
            segments=[Segment(0.0, 1.0, f"Words of {stem}{self._sign}.")],
            language="en",
            duration=media.duration,
            engine=self.name,
            model=self.model,
            method="scripted",
            decoding=self.decoding,
        )


def create(settings: Settings, request_hook: RequestHook | None = None) -> ScriptedCliEngine:
    del request_hook
    return ScriptedCliEngine(settings.model)
