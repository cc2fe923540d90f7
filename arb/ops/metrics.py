"""Prometheus metrics: the pipeline's own counters read at scrape time, trades counted as they end.

The per-update path pays nothing here: updates, resyncs, stale refusals and opportunities
are the counters the scan already keeps, and frame-to-decision is its cheap histogram
(`arb.scan.histogram`). Trades are counted when they finish, off the hot path.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from arb.execution.executor import Executor, IntentState, TradeOutcome
from arb.scan.view import ScanView

# Seen to both legs acknowledged, seconds: two venue round trips, from a colocated 5 ms up.
CYCLE_BOUNDS_S = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class TradeMetrics:
    """Per-trade counters, updated when a trade finishes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.intents = Counter(
            "arb_intents", "Trades by how they ended.", ["outcome"], registry=registry
        )
        for state in IntentState:
            self.intents.labels(state.value)  # every outcome shows, at 0 until it happens
        self.one_legged = Counter(
            "arb_one_legged_trades", "Trades whose legs filled differently.", registry=registry
        )
        self.pnl = Gauge(
            "arb_realised_pnl_quote", "Realised P&L since start, quote currency.", registry=registry
        )
        self.fees = Counter("arb_fees_quote", "Fees paid since start, quote.", registry=registry)
        self.cycle = Histogram(
            "arb_cycle_seconds",
            "Opportunity seen to both legs acknowledged.",
            buckets=CYCLE_BOUNDS_S,
            registry=registry,
        )

    def on_outcome(self, outcome: TradeOutcome) -> None:
        """Count one finished trade."""
        self.intents.labels(outcome.state.value).inc()
        if outcome.state is IntentState.ONE_LEGGED:
            self.one_legged.inc()
        if outcome.state is not IntentState.SKIPPED:
            self.pnl.inc(float(outcome.pnl))
            self.fees.inc(float(outcome.fees))
        if outcome.cycle_ms is not None:
            self.cycle.observe(outcome.cycle_ms / 1000)


class PipelineCollector(Collector):
    """Reads the scan's counters, the venues' state and the breaker when scraped."""

    def __init__(self, pipeline: ScanView, executor: Executor | None) -> None:
        self._pipeline = pipeline
        self._executor = executor

    def collect(self) -> Iterator[Metric]:
        """One metric family per counter; runs on the event loop, as the counters do."""
        p = self._pipeline
        stats = p.detector.stats
        updates = CounterMetricFamily("arb_book_updates", "Valid book updates.", labels=["venue"])
        resyncs = CounterMetricFamily("arb_book_resyncs", "Book resyncs.", labels=["venue"])
        stale = CounterMetricFamily(
            "arb_stale_refusals", "Updates refused as stale.", labels=["venue"]
        )
        connected = GaugeMetricFamily(
            "arb_venue_connected", "1 while the venue's books stream.", labels=["venue"]
        )
        for venue, feed in p.feeds.items():
            updates.add_metric([venue], stats.updates.get(venue, 0))
            resyncs.add_metric([venue], feed.resyncs)
            stale.add_metric([venue], stats.stale_refused.get(venue, 0))
            connected.add_metric([venue], 1 if feed.state == "connected" else 0)
        yield from (updates, resyncs, stale, connected)
        yield CounterMetricFamily(
            "arb_opportunities", "Opportunity events.", value=stats.opportunities
        )
        hist = stats.latency
        yield HistogramMetricFamily(
            "arb_frame_to_decision_seconds",
            "Frame arrival to detection decision.",
            buckets=hist.cumulative(),
            sum_value=hist.total,
        )
        if self._executor is not None:
            guard = self._executor.guard
            yield GaugeMetricFamily(
                "arb_breaker_tripped",
                "1 while the circuit breaker is tripped.",
                value=1 if guard.tripped is not None else 0,
            )
            killed = guard.killed is not None or guard.kill_file
            yield GaugeMetricFamily(
                "arb_kill_switch", "1 while the kill switch is on.", value=1 if killed else 0
            )


class Metrics:
    """The process's registry: the pipeline collector plus the trade counters."""

    def __init__(self, pipeline: ScanView, executor: Executor | None) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `*_created`: noise here
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(PipelineCollector(pipeline, executor))
        self.trades = TradeMetrics(self.registry)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
