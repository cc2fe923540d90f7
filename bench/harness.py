"""Timing helpers and the result row every benchmark returns."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ccxt
from google import protobuf  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Stat:
    """Median and p99 of one measured quantity, in `unit`, over `samples` samples."""

    median: float
    p99: float
    unit: str
    samples: int

    def text(self) -> str:
        """`12.3 us (p99 15.0)`: the table's cell for this figure."""
        return f"{_num(self.median)} {self.unit} (p99 {_num(self.p99)})"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the results table.

    `ratio` is the figure the target is stated on (baseline / ours for speed-ups, ours /
    baseline for "within" targets); `passed` is None when nothing could be measured.
    """

    operation: str
    ours: Stat | None
    baseline: Stat | None
    ratio: float | None
    ratio_means: str
    target: str
    passed: bool | None
    notes: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The row as plain JSON types."""
        return asdict(self)


def summarize(values: Sequence[float], unit: str) -> Stat:
    """Median and p99 (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(0.99 * len(ordered)) - 1))
    return Stat(statistics.median(ordered), ordered[rank], unit, len(ordered))


def interleaved(
    ours: Callable[[], None],
    baseline: Callable[[], None],
    *,
    samples: int,
    calls: int,
    warmup: int,
    scale: float = 1e9,
    unit: str = "ns",
) -> tuple[Stat, Stat]:
    """Time `calls` back-to-back calls of each function per sample, alternating which goes first.

    Alternating in one process keeps machine drift (other tenants, CPU frequency) out of
    the ratio. Each sample is the mean of `calls` calls (one call of a 50 ns operation is
    below the clock's resolution), so p99 is the 99th percentile of those means. The
    garbage collector is paused while timing, as timeit does.
    """
    for _ in range(warmup):
        ours()
        baseline()
    times: dict[int, list[float]] = {0: [], 1: []}
    pair = (ours, baseline)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for sample in range(samples):
            order = (0, 1) if sample % 2 == 0 else (1, 0)
            for which in order:
                run = pair[which]
                start = time.perf_counter_ns()
                for _ in range(calls):
                    run()
                times[which].append((time.perf_counter_ns() - start) * scale / 1e9 / calls)
    finally:
        if was_enabled:
            gc.enable()
    return summarize(times[0], unit), summarize(times[1], unit)


def timed_loops(
    ours: Callable[[int], None],
    baseline: Callable[[int], None],
    *,
    samples: int,
    calls: int,
    scale: float = 1e9,
    unit: str = "ns",
) -> tuple[Stat, Stat]:
    """Like `interleaved`, for functions that run their own loop of `n` operations.

    For operations of a few tens of nanoseconds the loop belongs inside the measured
    function: a Python call per operation would cost more than the operation.
    """
    ours(calls)
    baseline(calls)
    times: dict[int, list[float]] = {0: [], 1: []}
    pair = (ours, baseline)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for sample in range(samples):
            for which in (0, 1) if sample % 2 == 0 else (1, 0):
                start = time.perf_counter_ns()
                pair[which](calls)
                times[which].append((time.perf_counter_ns() - start) * scale / 1e9 / calls)
    finally:
        if was_enabled:
            gc.enable()
    return summarize(times[0], unit), summarize(times[1], unit)


def environment() -> dict[str, str]:
    """Python, CPU and library versions, stated with every result."""
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpu": _cpu_name(),
        "cpus": str(_cpu_count()),
        "platform": platform.platform(),
        "ccxt": str(ccxt.__version__),
        "protobuf": str(protobuf.__version__),
        "executable": sys.executable,
    }


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")  # Linux; elsewhere platform's answer is the best we have
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
