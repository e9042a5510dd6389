"""Time and memory of a piece of work, and a description of the machine it ran on."""

from __future__ import annotations

import datetime
import os
import platform
import threading
import time


class PeakRSS:
    """Context manager: sample this process's resident memory in a thread every ``interval`` s.

    ``peak_mb`` is the highest RSS seen (the whole process: Python, libraries, cached data) and
    ``growth_mb`` its rise over the RSS at entry, the better estimate of what the measured work
    itself needed. Sampling can miss a spike shorter than ``interval``.
    """

    def __init__(self, interval: float = 0.005):
        import psutil

        self._proc = psutil.Process()
        self.interval = interval
        self.start_mb = self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _rss_mb(self) -> float:
        return self._proc.memory_info().rss / 2 ** 20

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._rss_mb())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self.start_mb = self.peak_mb = self._rss_mb()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss_mb())

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.start_mb


class Timer:
    """Context manager measuring wall-clock and CPU seconds of this process."""

    def __enter__(self) -> "Timer":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


def machine() -> dict:
    """Where and when (called once the runs are done: the time is when they finished): for the
    header of every results file."""
    import psutil

    try:
        import cv2

        cv_threads = cv2.getNumThreads()
    except Exception:  # noqa: BLE001
        cv_threads = None
    from .. import __version__

    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cleanplate": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2 ** 30, 1),
        "opencv_threads": cv_threads,
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
