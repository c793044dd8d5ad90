"""The web monitor at 5,000 items: real Chromium against the packaged app under `streamlit
run`, with a 5,000-item session running in a job process of its own (the real CLI and
runner, with a scripted engine that finishes a few items a second).

Prints the time to open the session page, the median and p90 time between visible updates
of the progress text with one tab and with three tabs open, and the CPU the Streamlit
server used meanwhile (the job's own CPU shown apart). Side by side, in the same run: one
refresh's read of the session the way every tab did it before (all 5,000 items) against
the shared incremental read the monitor uses now.

    .venv/bin/python benchmarks/web_monitor.py              # about 3 minutes
    .venv/bin/python benchmarks/web_monitor.py --quick      # 1,000 items, shorter windows

Goals (issue 12): open in <= 2 s, updates every <= 1.5 s median with three tabs, server
CPU <= 15 % of a core while watched.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.samples import write_wav  # noqa: E402
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402

from bulk_transcribe.engines import ENGINES  # noqa: E402
from bulk_transcribe.models import ItemSpec, SessionCommand, SourceType  # noqa: E402
from bulk_transcribe.runner import create_session  # noqa: E402
from bulk_transcribe.settings import Settings  # noqa: E402
from bulk_transcribe.store import Store  # noqa: E402
from bulk_transcribe.web.state.snapshot import Snapshots  # noqa: E402

ENGINES["scripted"] = "tests.fakes.scripted_engine:create"
ITEM_SECONDS = "0.4"  # each scripted item works this long, reporting progress
CONCURRENCY = 4
OPENINGS = 5  # visits of each page: the first, then four more (their median is reported)
# Records every change of the progress text ("N of 5000 finished") with its time.
_OBSERVE = """
() => {
  window.__updates = [];
  const panel = document.querySelector('.st-key-panel-global-progress');
  let last = '';
  const check = () => {
    const found = (panel.innerText.match(/(\\d+) of \\d+ finished/) || [])[0] || '';
    if (found && found !== last) { last = found; window.__updates.push(performance.now()); }
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true,
    characterData: true});
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 items, 15 s windows")
    args = parser.parse_args()
    items, window = (1000, 15.0) if args.quick else (5000, 40.0)
    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        out = folder / "output"
        session_id = make_session(folder, out, items)
        read_full, read_shared = compare_reads(out / "bulk_transcribe.db", session_id)
        job = start_job(out, session_id, folder / "job.log")
        processes.append(job)
        server = AppServer(out, folder / "streamlit.log")  # as the browser tests start it
        processes.append(server.process)
        server.wait_ready()
        measured = watch(server, job, session_id, items, window)
    finally:
        with Store(folder / "output" / "bulk_transcribe.db") as store:
            for session in store.list_sessions():
                store.send_command(session.id, SessionCommand.CANCEL)
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(folder, ignore_errors=True)
    report(items, measured, read_full, read_shared)


def make_session(folder: Path, out: Path, count: int) -> str:
    """`count` local one-second files (hard links of one), scripted as slow items."""
    media = folder / "media"
    media.mkdir()
    first = write_wav(media / "slow_00000.wav", np.zeros(16_000, dtype=np.float32))
    paths = [first]
    for number in range(1, count):
        path = media / f"slow_{number:05d}.wav"
        os.link(first, path)
        paths.append(path)
    settings = Settings(
        out_dir=out, engine="scripted", model="script", formats=("txt",), concurrency=CONCURRENCY
    )
    with Store(settings.database) as store:
        specs = [ItemSpec(str(p), SourceType.LOCAL_FILE) for p in paths]
        return create_session(store, settings, specs).id


def compare_reads(database: Path, session_id: str, rounds: int = 5) -> tuple[float, float]:
    """Seconds for one refresh's read: every item (before) vs only what changed (now)."""
    with Store(database) as store:
        started = time.perf_counter()
        for _ in range(rounds):
            store.items(session_id)
        full = (time.perf_counter() - started) / rounds
        snapshots = Snapshots(store)
        snapshots.view(session_id, max_age=0)  # the first read of a server reads everything
        started = time.perf_counter()
        for _ in range(rounds):
            snapshots.view(session_id, max_age=0)
        shared = (time.perf_counter() - started) / rounds
    return full, shared


def start_job(out: Path, session_id: str, log: Path) -> subprocess.Popen[bytes]:
    """The real CLI resumes the session in a process of its own, as the web app starts it."""
    command = [sys.executable, "-m", "tests.fakes.scripted_cli", "resume", session_id]
    command += ["--out", str(out)]
    env = {**os.environ, "SCRIPTED_ENGINE_SECONDS": ITEM_SECONDS}
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    with Store(out / "bulk_transcribe.db") as store:
        deadline = time.monotonic() + 60
        while store.get_session(session_id).owner is None:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"the job never started:\n{log.read_text()}")
            time.sleep(0.2)
    return process


@dataclass
class Watched:
    """Per tab count: the gaps between visible updates, and the CPU of server and job."""

    gaps: list[float]
    server_cpu: float
    job_cpu: float


@dataclass
class Measured:
    open_home: list[float] = field(default_factory=list)  # first visit, then again
    open_session: list[float] = field(default_factory=list)  # until the progress shows
    open_table: list[float] = field(default_factory=list)  # until the status table shows
    tabs: dict[int, Watched] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)  # the machine's load average before and after


def watch(
    server: AppServer, job: subprocess.Popen[bytes], session_id: str, items: int, window: float
) -> Measured:
    from playwright.sync_api import Page, sync_playwright

    session_url = f"{server.url}/Bulk_Transcribe?session={session_id}"
    finished_text = f"of {items} finished"

    def open_session(tab: Page, started: float | None = None) -> None:
        tab.goto(session_url)
        panel = tab.locator(".st-key-panel-global-progress")
        panel.get_by_text(finished_text).wait_for(timeout=120_000)
        if started is not None:  # the status table comes with the next refresh
            measured.open_session.append(time.perf_counter() - started)
            table = tab.locator(".st-key-panel-status-table [data-testid='stDataFrame']")
            table.wait_for(timeout=120_000)
            measured.open_table.append(time.perf_counter() - started)

    def open_home(tab: Page) -> None:
        tab.goto(f"{server.url}/")
        tab.get_by_text("Recent sessions").wait_for(timeout=120_000)

    measured = Measured(load=(os.getloadavg()[0], 0.0))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        # The first visit also loads the app's modules in the server and the browser's cache.
        for _ in range(OPENINGS):
            tab = context.new_page()
            started = time.perf_counter()
            open_home(tab)
            measured.open_home.append(time.perf_counter() - started)
            tab.close()
            tab = context.new_page()
            open_session(tab, time.perf_counter())
            tab.close()
        tabs: list[Page] = []
        for count in (1, 3):
            while len(tabs) < count:
                tabs.append(context.new_page())
                open_session(tabs[-1])
            for tab in tabs:
                tab.evaluate(_OBSERVE)
            server_cpu, job_cpu = cpu_percents([server.process, job], window)
            gaps: list[float] = []
            for tab in tabs:
                stamps = tab.evaluate("() => window.__updates")
                gaps += [(b - a) / 1000 for a, b in itertools.pairwise(stamps)]
            measured.tabs[count] = Watched(gaps, server_cpu, job_cpu)
        browser.close()
    measured.load = (measured.load[0], os.getloadavg()[0])
    return measured


def cpu_percents(processes: list[subprocess.Popen[bytes]], seconds: float) -> list[float]:
    """Percent of one core each process (with its children) used over the next `seconds`."""

    def used(process: subprocess.Popen[bytes]) -> float:
        try:
            root = psutil.Process(process.pid)
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for proc in family:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    before, started = [used(p) for p in processes], time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return [100 * (used(p) - b) / elapsed for p, b in zip(processes, before, strict=True)]


def report(items: int, measured: Measured, read_full: float, read_shared: float) -> None:
    print(f"\nWeb monitor, {items} items running ({CONCURRENCY} at once, scripted engine)")

    def first_and_again(times: list[float]) -> str:
        return f"{times[0]:.2f} s first visit, {statistics.median(times[1:]):.2f} s again"

    print(
        f"  open the session page until its progress shows: "
        f"{first_and_again(measured.open_session)} (goal <= 2 s; median of "
        f"{OPENINGS - 1}); until its status table shows: {first_and_again(measured.open_table)}"
        f"; the Home page beside it: {first_and_again(measured.open_home)}"
    )
    for count, watched in measured.tabs.items():
        if len(watched.gaps) < 2:
            print(f"  {count} tab(s): too few updates seen ({len(watched.gaps)})")
            continue
        ordered = sorted(watched.gaps)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        print(
            f"  {count} tab(s): median {statistics.median(ordered):.2f} s, p90 {p90:.2f} s "
            f"between visible updates ({len(ordered)} seen); server CPU "
            f"{watched.server_cpu:.1f} % of a core (the job, in its own process: "
            f"{watched.job_cpu:.1f} %)"
        )
    print(
        f"  one refresh's read of the session: all items {read_full * 1000:.1f} ms, "
        f"only what changed {read_shared * 1000:.1f} ms "
        f"({read_full / max(read_shared, 1e-9):.1f}x less)"
    )
    print(f"  load average {measured.load[0]:.1f} before, {measured.load[1]:.1f} after")
    print("  goals: open <= 2 s, median <= 1.5 s with three tabs, server CPU <= 15 %")


if __name__ == "__main__":
    main()
