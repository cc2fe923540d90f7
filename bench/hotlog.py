"""Hot-path log event: HotLog.record (delivered later by its thread) against a loguru call."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from loguru import logger

from arb.log import STDERR_FORMAT, HotLog
from bench.harness import Row, Stat, summarize

# The event the scan pipeline records when a book stream changes state (arb/scan/engine.py).
TEMPLATE = "{} {} book {}: {}"
ARGS = ("gateio", "BTC/USDT", "resyncing", "sequence gap: U 73777715213 after u 73777715168")


class CountingSink:
    """A loguru sink that counts and keeps the size of what it is given, writing nowhere."""

    def __init__(self) -> None:
        self.lines = 0
        self.chars = 0
        self._lock = threading.Lock()  # loguru may call from the drain thread and ours

    def write(self, message: str) -> None:
        """Count one formatted line."""
        with self._lock:
            self.lines += 1
            self.chars += len(message)


def run(quick: bool = False) -> list[Row]:
    """Time record() against logger.log() into the same formatted sink; count deliveries."""
    sink = CountingSink()
    logger.remove()
    # The stderr sink's own format and patcher (setup_logging), minus the terminal.
    logger.configure(patcher=_venue_prefix)
    handler = logger.add(sink, format=STDERR_FORMAT, colorize=False, level="INFO")
    hot = HotLog()
    try:
        samples = 40 if quick else 400
        mine, base = _alternate(hot, samples=samples, calls=100, warmup=200)
        direct_lines = sink.lines  # the drain thread may still hold some of ours
        started = time.perf_counter()
        hot.close()
        close_s = time.perf_counter() - started
    finally:
        logger.remove(handler)
        logger.configure(patcher=None)
        logger.add(sys.stderr, level="WARNING")  # as suite.quiet_logs leaves it
    recorded, delivered = hot.recorded, hot.delivered
    calls_direct = (samples * 100) + 200
    every = delivered == recorded and sink.lines == recorded + calls_direct
    ratio = base.median / mine.median
    return [
        Row(
            operation="hot-path log event: HotLog.record",
            ours=mine,
            baseline=base,
            ratio=round(ratio, 1),
            ratio_means="loguru call / record (times cheaper)",
            target=">= 20x cheaper, every event delivered",
            passed=ratio >= 20 and every,
            notes=f"{recorded} recorded, {delivered} delivered to the sink",
            details={
                "recorded": recorded,
                "delivered": delivered,
                "sink_lines": sink.lines,
                "direct_calls": calls_direct,
                "sink_lines_before_close": direct_lines,
                "close_drain_s": round(close_s, 4),
            },
        )
    ]


def _alternate(hot: HotLog, *, samples: int, calls: int, warmup: int) -> tuple[Stat, Stat]:
    """Time batches of record() and of direct logger calls, alternating.

    Before each direct batch the drain thread is let finish the events recorded so far,
    so the direct calls never compete with our thread for the GIL (that would flatter
    HotLog); record() batches do run while the thread drains, as they would in production.
    """
    for _ in range(warmup):
        hot.record("INFO", TEMPLATE, *ARGS)
        logger.log("INFO", TEMPLATE, *ARGS)
    times: dict[str, list[float]] = {"ours": [], "direct": []}
    for sample in range(samples):
        for which in ("ours", "direct") if sample % 2 == 0 else ("direct", "ours"):
            if which == "direct":
                _settle(hot)
                start = time.perf_counter_ns()
                for _ in range(calls):
                    logger.log("INFO", TEMPLATE, *ARGS)
            else:
                start = time.perf_counter_ns()
                for _ in range(calls):
                    hot.record("INFO", TEMPLATE, *ARGS)
            times[which].append((time.perf_counter_ns() - start) / calls)
    return summarize(times["ours"], "ns"), summarize(times["direct"], "ns")


def _settle(hot: HotLog) -> None:
    """Wait until the drain thread has delivered everything recorded so far."""
    deadline = time.monotonic() + 5
    while hot.delivered < hot.recorded and time.monotonic() < deadline:
        time.sleep(0.001)


def _venue_prefix(record: Any) -> None:
    venue = record["extra"].get("venue")
    record["extra"]["venue"] = f"{venue}: " if venue else ""
