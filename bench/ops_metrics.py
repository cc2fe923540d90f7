"""Metrics on the hot path: the per-update metrics work against HotLog.record.

Per book update the scan pays one frame-to-decision histogram observation for /metrics
(`arb.scan.histogram.Histogram.observe`); updates, resyncs, stale refusals and
opportunities are counters it already keeps, read only when /metrics is scraped. The
prometheus_client Histogram it stands in for is timed beside it, for information.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry
from prometheus_client import Histogram as PromHistogram

from arb.log import HotLog
from arb.scan.histogram import LATENCY_BOUNDS_S, Histogram
from bench.harness import Row, Stat, summarize
from bench.hotlog import ARGS, TEMPLATE

LATENCY = 0.000137  # a typical frame-to-decision time, seconds


def run(quick: bool = False) -> list[Row]:
    """Time Histogram.observe against HotLog.record (and prometheus_client's observe)."""
    hot = HotLog()
    hist = Histogram()
    prom = PromHistogram(
        "bench_latency", "", buckets=LATENCY_BOUNDS_S, registry=CollectorRegistry()
    )
    try:
        samples = 40 if quick else 400
        ours, base, prom_stat = _alternate(hot, hist, prom, samples=samples, calls=100)
    finally:
        hot.close()
    ratio = ours.median / base.median
    return [
        Row(
            operation="metrics counter update vs HotLog.record (per book update: "
            "frame-to-decision Histogram.observe; other counters read at scrape)",
            ours=ours,
            baseline=base,
            ratio=round(ratio, 2),
            ratio_means="observe / record",
            target="<= 1x",
            passed=ratio <= 1,
            notes=f"prometheus_client Histogram.observe: {prom_stat.median:.0f} ns (info)",
            details={"prometheus_client_observe": prom_stat.text()},
        )
    ]


def _alternate(
    hot: HotLog, hist: Histogram, prom: PromHistogram, *, samples: int, calls: int
) -> tuple[Stat, Stat, Stat]:
    for _ in range(200):
        hist.observe(LATENCY)
        hot.record("INFO", TEMPLATE, *ARGS)
        prom.observe(LATENCY)
    times: dict[str, list[float]] = {"ours": [], "hotlog": [], "prom": []}
    order = ("ours", "hotlog", "prom")
    for sample in range(samples):
        for which in order if sample % 2 == 0 else tuple(reversed(order)):
            start = time.perf_counter_ns()
            if which == "ours":
                for _ in range(calls):
                    hist.observe(LATENCY)
            elif which == "hotlog":
                for _ in range(calls):
                    hot.record("INFO", TEMPLATE, *ARGS)
            else:
                for _ in range(calls):
                    prom.observe(LATENCY)
            times[which].append((time.perf_counter_ns() - start) / calls)
    return (
        summarize(times["ours"], "ns"),
        summarize(times["hotlog"], "ns"),
        summarize(times["prom"], "ns"),
    )
