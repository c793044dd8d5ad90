"""Resource pressure: process memory against a budget, and free disk in the output folder."""

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


class ResourceMonitor:
    def __init__(self, folder: Path, memory_budget_mb: float, min_free_disk_mb: float):
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # the first call only starts the measurement
        self._folder = folder
        self.memory_budget_mb = memory_budget_mb
        self.min_free_disk_mb = min_free_disk_mb
        self.peak_rss_mb = 0.0

    def read(self) -> ResourceReading:
        rss = self._process.memory_info().rss / 1024**2
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        free = shutil.disk_usage(self._existing(self._folder)).free / 1024**2
        return ResourceReading(rss, self.peak_rss_mb, self._process.cpu_percent(None), free)

    def pressure(self, reading: ResourceReading) -> str | None:
        """Why concurrency should come down now, or None."""
        if reading.rss_mb > self.memory_budget_mb:
            return (
                f"memory {reading.rss_mb:.0f} MB is over the {self.memory_budget_mb:.0f} MB budget"
            )
        if reading.disk_free_mb < self.min_free_disk_mb:
            return f"only {reading.disk_free_mb:.0f} MB of disk left in {self._folder}"
        return None

    @staticmethod
    def _existing(path: Path) -> Path:
        while not path.exists() and path != path.parent:
            path = path.parent
        return path
