"""Replay throughput: the shipped recording through decode, integrity and detector, max speed."""

from __future__ import annotations

from arb.config import Settings
from arb.record.replay import ReplayOptions, replay
from bench.harness import ROOT, Row, summarize

SAMPLE = ROOT / "recordings" / "sandbox-sample"


async def run(quick: bool = False) -> list[Row]:
    """Recorded book updates per second through `arb replay --speed max` on one core."""
    rates, seconds = [], []
    updates = 0
    for _ in range(2 if quick else 7):
        result = await replay(Settings(), ReplayOptions(folder=SAMPLE), lambda _: None)
        updates = result.updates
        rates.append(result.updates / result.elapsed_s)
        seconds.append(result.elapsed_s * 1000)
    rate = summarize(rates, "updates/s")
    return [
        Row(
            operation=(
                f"replay at --speed max: shipped sandbox recording ({updates} book updates) "
                "-> decode, integrity, detector, one core"
            ),
            ours=summarize(seconds, "ms"),
            baseline=None,
            ratio=round(rate.median),
            ratio_means="(updates/s, building the ccxt instances included)",
            target="(report)",
            passed=None,
        )
    ]
