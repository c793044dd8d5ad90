"""Driving the Bulk Transcribe page in a real browser the way a user does, and reading it back."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bulk_transcribe.service import LAUNCH_WAIT_SECONDS
from bulk_transcribe.web.panels.settings_panel import PARALLEL_LABEL
from tests.web.conftest import ARTIFACTS

# What the page's toast says once a run control's click reached the job.
_CONTROL_ANSWERS = {"Stop": "Stopping:", "Cancel": "Cancelling:"}
RUN_TIMEOUT = 240.0  # seconds for a whole batch on a busy 2-core machine
UI_TIMEOUT = 30_000  # milliseconds for the page to reflect a change
# Start waits up to LAUNCH_WAIT_SECONDS for the job's process to own the session, by design;
# the page then changes. A test waiting no longer than that raced the app's own wait.
START_TIMEOUT = LAUNCH_WAIT_SECONDS * 1000 + UI_TIMEOUT
SAMPLE_EVERY_MS = 250

# Everything a snapshot needs, read in one go so that all of it comes from the same render:
# the status table's rows as the grid's accessible table exposes them (keyed by header),
# the Now processing cards, the global progress text and the session's status line.
_READ_PAGE = """
() => {
  const text = (el) => (el ? el.innerText.trim() : "");
  const table = document.querySelector('.st-key-panel-status-table table[role="grid"]');
  let rows = [];
  if (table) {
    const headers = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
    rows = [...table.querySelectorAll('tbody tr')].map(tr => {
      const row = {};
      [...tr.querySelectorAll('td')].forEach((td, i) => { row[headers[i]] = td.innerText.trim(); });
      return row;
    });
  }
  const cards = [...document.querySelectorAll("[class*='st-key-now-item-']")].map(text);
  const progress = text(document.querySelector('.st-key-panel-global-progress'));
  const status = [...document.querySelectorAll('[data-testid="stMarkdown"]')]
    .map(text).find(t => t.includes("Session ")) || "";
  return {rows, cards, progress, status};
}
"""


@dataclass
class Snapshot:
    """What the page showed at one moment."""

    rows: list[dict[str, str]]
    cards: list[str]
    percent: int | None
    status_line: str

    @property
    def running_rows(self) -> list[dict[str, str]]:
        return [r for r in self.rows if r.get("Status") == "running"]


@dataclass
class Recording:
    snapshots: list[Snapshot] = field(default_factory=list)

    @property
    def most_running_rows(self) -> int:
        return max((len(s.running_rows) for s in self.snapshots), default=0)

    @property
    def most_cards(self) -> int:
        return max((len(s.cards) for s in self.snapshots), default=0)

    @property
    def percents(self) -> list[int]:
        return [s.percent for s in self.snapshots if s.percent is not None]


class BulkPage:
    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url

    # --- navigation -----------------------------------------------------------------------

    def open(self, session_id: str | None = None) -> BulkPage:
        query = f"?session={session_id}" if session_id else ""
        self.page.goto(f"{self.base_url}/Bulk_Transcribe{query}")
        # A running session's page folds the input away: wait for what every page shows.
        title = self.page.get_by_role("heading", level=1).filter(has_text="Bulk Transcribe")
        expect(title).to_be_visible(timeout=UI_TIMEOUT)
        if session_id:
            expect(self.page.get_by_text(f"Session {session_id}")).to_be_visible(timeout=UI_TIMEOUT)
        return self

    @property
    def session_id(self) -> str:
        match = re.search(r"[?&]session=([^&]+)", self.page.url)
        assert match, f"no session in {self.page.url}"
        return match.group(1)

    # --- input and settings ---------------------------------------------------------------

    def paste(self, lines: list[str]) -> None:
        box = self.page.get_by_label("Paste links")
        box.fill("\n".join(lines))
        box.blur()

    def upload(self, path: Path) -> None:
        """Choose a file; chosen again if a rerun swapped the input out from under it."""
        chip = self.page.get_by_test_id("stFileChipName").filter(has_text=path.name)
        for _ in range(3):
            self.page.locator("input[type=file]").set_input_files(str(path))
            try:
                expect(chip).to_be_visible(timeout=UI_TIMEOUT // 3)
                return
            except AssertionError:
                continue
        expect(chip).to_be_visible()

    def choose(self, label: str, option: str) -> None:
        """Pick an option; the list is opened again if a rerun closed it, or redrew it under
        the click (on a loaded machine an option redrawn every refresh was never still long
        enough for Playwright's click)."""
        choice = self.page.get_by_role("option", name=option, exact=True)
        for _ in range(3):
            self.page.get_by_test_id("stSelectbox").filter(has_text=label).click()
            try:
                expect(choice).to_be_visible(timeout=UI_TIMEOUT // 3)
                choice.click(timeout=UI_TIMEOUT // 3)
                return
            except (AssertionError, PlaywrightTimeoutError):
                self.page.keyboard.press("Escape")
        self.page.get_by_test_id("stSelectbox").filter(has_text=label).click()
        choice.click()

    def metric(self, label: str) -> Locator:
        label_element = self.page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
        return self.page.get_by_test_id("stMetric").filter(has=label_element)

    def expect_valid(self, count: int) -> None:
        expect(self.metric("Valid")).to_contain_text(str(count), timeout=UI_TIMEOUT)

    @property
    def parallel_toggle(self) -> Locator:
        return self.page.get_by_role("checkbox", name=PARALLEL_LABEL)

    def set_parallel(self, on: bool, concurrency: int | None = None) -> None:
        if self.parallel_toggle.is_checked() != on:
            self.page.get_by_text(PARALLEL_LABEL, exact=True).click()
        expect(self.parallel_toggle).to_be_checked(checked=on, timeout=UI_TIMEOUT)
        if on and concurrency is not None:
            self.set_concurrency(concurrency)

    def set_concurrency(self, wanted: int) -> None:
        slider = self.page.get_by_role("slider", name="Items at once")
        expect(slider).to_be_enabled(timeout=UI_TIMEOUT)
        current = int(slider.input_value())
        slider.focus()
        key = "ArrowRight" if wanted > current else "ArrowLeft"
        for _ in range(abs(wanted - current)):
            slider.press(key)
        expect(slider).to_have_value(str(wanted), timeout=UI_TIMEOUT)

    def start(self, items: int) -> str:
        label = f"Start transcribing {items} item{'' if items == 1 else 's'}"
        button = self.page.get_by_role("button", name=label)
        try:
            expect(button).to_be_enabled(timeout=UI_TIMEOUT)
        except AssertionError:
            raise AssertionError(
                f"{label!r} stayed disabled for {UI_TIMEOUT / 1000:.0f} s; {self._run_state()}"
            ) from None
        try:
            button.click(timeout=UI_TIMEOUT)
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"{label!r} was enabled, then disabled for {UI_TIMEOUT / 1000:.0f} s before "
                f"the click; {self._run_state()}"
            ) from None
        try:
            self.page.wait_for_url(re.compile(r"session="), timeout=START_TIMEOUT)
        except PlaywrightTimeoutError:
            alerts = self.page.locator('[data-testid="stAlert"]').all_inner_texts()
            raise AssertionError(
                f"Start did not lead to the session's page within {START_TIMEOUT / 1000:.0f} s; "
                f"the page shows {alerts or 'no message'}"
            ) from None
        return self.session_id

    def _run_state(self) -> str:
        """What can keep Start disabled, as the page shows it: the formats chosen, the Run
        section's own words, and Streamlit's connection status (it disables every widget
        while it reconnects to the server)."""
        parts = {
            "formats": ".st-key-pref_formats",
            "run section": ".st-key-section-run",
            "connection": '[data-testid="stStatusWidget"]',
        }
        seen = {
            name: " | ".join(self.page.locator(selector).all_inner_texts()) or "(nothing)"
            for name, selector in parts.items()
        }
        return "; ".join(f"{name}: {text!r}" for name, text in seen.items())

    # --- monitor --------------------------------------------------------------------------

    def panel(self, key: str) -> Locator:
        return self.page.locator(f".st-key-panel-{key}")

    def button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=name, exact=True)

    def control(self, name: str) -> None:
        """Click Stop or Cancel and wait for the page's answer, its toast.

        Streamlit can drop a click that reaches the server while the page is redrawn from the
        still view to the live one (seen twice in about a hundred cancels beside five CPU
        hogs, each within seconds of a resume): no callback runs and no toast shows. A user
        who sees no answer clicks again, and so does this; both controls are idempotent."""
        answer = self.page.get_by_test_id("stToast").filter(has_text=_CONTROL_ANSWERS[name])
        for attempt in range(2):
            self.button(name).click()
            try:
                expect(answer.first).to_be_visible(timeout=UI_TIMEOUT)
                return
            except AssertionError:
                if attempt:
                    raise AssertionError(
                        f"{name} was clicked twice and the page never answered; {self._run_state()}"
                    ) from None

    def snapshot(self) -> Snapshot:
        seen = self.page.evaluate(_READ_PAGE)
        found = re.search(r"(\d+) %", seen["progress"])
        return Snapshot(
            rows=seen["rows"],
            cards=seen["cards"],
            percent=int(found.group(1)) if found else None,
            status_line=seen["status"],
        )

    def record_until(
        self,
        done: Callable[[Snapshot], bool],
        recording: Recording | None = None,
        timeout: float = RUN_TIMEOUT,
        on_sample: Callable[[Snapshot], None] | None = None,
    ) -> Recording:
        """Sample the page until `done` holds; every sample is kept for later assertions."""
        recording = recording or Recording()
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot()
            recording.snapshots.append(snap)
            if on_sample:
                on_sample(snap)
            if done(snap):
                return recording
            if time.monotonic() > deadline:
                self.screenshot("timeout")
                raise AssertionError(f"page never got there; last showed: {snap}")
            self.page.wait_for_timeout(SAMPLE_EVERY_MS)

    def wait_finished(self, recording: Recording | None = None) -> Recording:
        return self.wait_finished_recording(recording)

    def wait_finished_recording(
        self,
        recording: Recording | None = None,
        on_sample: Callable[[Snapshot], None] | None = None,
    ) -> Recording:
        """Watch until the session finished (with or without failures) and every row shows a
        finished item."""
        return self.record_until(
            lambda s: (
                s.percent == 100
                and ("completed" in s.status_line or "finished with" in s.status_line)
                and bool(s.rows)  # the table is there (not mid-redraw) and all rows finished
                and all(
                    row.get("Status", "").split(" ")[0] in ("done", "failed", "skipped")
                    for row in s.rows
                )
            ),
            recording,
            on_sample=on_sample,
        )

    def screenshot(self, name: str) -> Path:
        """The whole page, however long: the viewport grows to fit for the shot."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        size = self.page.viewport_size or {"width": 1400, "height": 1000}
        height = self.page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], body')]"
            ".map(e => e.scrollHeight))"
        )
        self.page.set_viewport_size({"width": size["width"], "height": max(height, 800)})
        self.page.screenshot(path=str(path))
        self.page.set_viewport_size(size)
        return path
