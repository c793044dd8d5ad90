"""Resource pressure: memory the run added to its process, and free disk in the output folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ResourceReading:
    rss_mb: float
    peak_rss_mb: float
    cpu_percent: float  # of one core, averaged since the previous reading
    disk_free_mb: float
    growth_mb: float = 0.0  # above the process's own baseline after warm-up


class ResourceMonitor:
    """Reads the process's memory against its own baseline, not the whole RSS: the process
    also holds the model and, in the web app, the web server, which no concurrency cut frees.
    """

    def __init__(self, folder: Path, memory_budget_mb: float, min_free_disk_mb: float):
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first call only starts the measurement
        self._folder = folder
        self.memory_budget_mb = memory_budget_mb
        self.min_free_disk_mb = min_free_disk_mb
        self.peak_rss_mb = 0.0
        self.baseline_mb: float | None = None

    def mark_baseline(self) -> float:
        """Call after warm-up (model loaded, clients built): growth is measured from here."""
        self.baseline_mb = self._rss_mb()
        return self.baseline_mb

    def read(self) -> ResourceReading:
        rss = self._rss_mb()
        if self.baseline_mb is None:
            self.baseline_mb = rss
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        free = shutil.disk_usage(self._existing(self._folder)).free / 1024**2
        return ResourceReading(
            rss,
            self.peak_rss_mb,
            self._process.cpu_percent(None),
            free,
            growth_mb=max(0.0, rss - self.baseline_mb),
        )

    def pressure(self, reading: ResourceReading) -> str | None:
        """Why concurrency should come down now, or None."""
        if reading.growth_mb > self.memory_budget_mb:
            return (
                f"memory grew by {reading.growth_mb:.0f} MB since warm-up (over the "
                f"{self.memory_budget_mb:.0f} MB budget; {reading.rss_mb:.0f} MB in all)"
            )
        if reading.disk_free_mb < self.min_free_disk_mb:
            return f"only {reading.disk_free_mb:.0f} MB of disk left in {self._folder}"
        return None

    def _rss_mb(self) -> float:
        return self._process.memory_info().rss / 1024**2

    @staticmethod
    def _existing(path: Path) -> Path:
        while not path.exists() and path != path.parent:
            path = path.parent
        return path
