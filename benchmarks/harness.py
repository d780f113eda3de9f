"""Shared benchmark plumbing: machine facts, timing, peak memory, and the JSON result files."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "load_average": [round(load, 2) for load in os.getloadavg()],  # 1, 5, 15 min: is the machine shared now?
    }


@dataclass
class BenchResult:
    """One benchmark: a measured value, the baseline measured in the same run, and the target it must meet."""

    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    target: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=machine)
    measured_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("inf")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = round(self.ratio, 3) if math.isfinite(self.ratio) else None  # JSON has no infinity
        return data

    def write(self, directory: Path = RESULTS_DIR) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.json"
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path


def timed_runs(func: Callable[[], object], *, repeat: int) -> list[float]:
    """Wall time of each of `repeat` runs of `func`."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return times


def best_seconds(func: Callable[[], object], *, repeat: int = 3) -> float:
    """Best wall time of `repeat` runs (the least disturbed by other work on the machine)."""
    return min(timed_runs(func, repeat=repeat))


def median_seconds(func: Callable[[], object], *, repeat: int = 5) -> float:
    return statistics.median(timed_runs(func, repeat=repeat))


def peak_memory_mb(func: Callable[[], object]) -> float:
    """Peak Python-heap memory (numpy and pandas buffers included) allocated while `func` runs."""
    tracemalloc.start()
    try:
        func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def print_table(results: list[BenchResult]) -> None:
    header = f"{'benchmark':<34} {'value':>10} {'unit':<6} {'baseline':<34} {'base':>9} {'ratio':>7}  {'target':<26} ok"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<34} {r.value:>10.3f} {r.unit:<6} {r.baseline_name[:34]:<34} {r.baseline_value:>9.3f} "
            f"{r.ratio:>7.2f}  {r.target[:26]:<26} {'yes' if r.passed else 'NO'}"
        )
