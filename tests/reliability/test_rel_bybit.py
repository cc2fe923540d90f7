"""Promise 1 on Bybit: a gapped orderbook feed is resynced before it is used again.

The scan pipeline runs real ccxt.pro bybit and mexc clients through our adapter against the
simulator; a push that skips one `u` carries a change, which must reach the detector only
through the resubscription's snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tomllib
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from reltools import SYMBOL, eventually
from test_rel_market_data import after, amounts, scanning

from arb.sim import Fault, FaultKind, Simulator, parse_scenario

D = Decimal

SCENARIO = """
name = "bybit-gap"
[sandbox]
api_key = "sim-key"
api_secret = "sim-secret"
[venues.mexc]
cadence_ms = 10
[venues.bybit]
cadence_ms = 10
taker_fee = "0.001"
[[markets]]
symbol = "BTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 6, min_amount = "0.000001", min_notional = "1" }
bybit = { price_decimals = 1, amount_decimals = 6, min_amount = "0.000011", min_notional = "5" }
[[books]]
venue = "bybit"
symbol = "BTC/USDT"
bids = [["62990.0", "0.5"]]
asks = [["63000.0", "0.01"], ["63010.0", "0.02"]]
[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["63400.00", "0.015"], ["62900.00", "1"]]
asks = [["63410.00", "1"]]
"""


@contextlib.asynccontextmanager
async def ticking(sim: Simulator, every: float = 0.05) -> AsyncIterator[None]:
    """Move a deep, harmless bid on both venues so every stream keeps receiving deltas."""

    async def tick() -> None:
        n = 0
        while True:
            n += 1
            sim.set_level("mexc", SYMBOL, "bid", D("60000.00"), D(1 + n % 2))
            sim.set_level("bybit", SYMBOL, "bid", D("60000.0"), D(1 + n % 2))
            await asyncio.sleep(every)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def subscribes(sim: Simulator) -> int:
    return sum(1 for e in sim.log.of("bybit", "ws_in") if e["frame"].get("op") == "subscribe")


async def test_a_gapped_bybit_feed_is_resynced_before_it_is_used_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = parse_scenario(tomllib.loads(SCENARIO))
    async with (
        Simulator(scenario) as sim,
        ticking(sim, 0.05),
        scanning(sim, monkeypatch, exchanges="bybit,mexc") as scan,
    ):
        await eventually(lambda: bool(scan.events), what="the planted opportunity")
        assert amounts(scan.events) == {D("0.015")}
        resyncs = scan.pipeline.feeds["bybit"].resyncs
        subscribed = subscribes(sim)
        sim.inject(Fault(FaultKind.SKIP_SEQ, "bybit", symbol=SYMBOL))
        changed = time.monotonic()
        # Rides in the push that skips a `u`: only 0.012 BTC left on Bybit's asks.
        sim.set_level("bybit", SYMBOL, "ask", D("63010.0"), D("0"))
        sim.set_level("bybit", SYMBOL, "ask", D("63000.0"), D("0.012"))
        await eventually(lambda: bool(after(scan.events, changed)), what="Bybit resynced")
        gapped = scan.pipeline.feeds["bybit"].resyncs - resyncs
        resubscribed = subscribes(sim) - subscribed

    assert gapped >= 1
    assert resubscribed >= 1
    assert amounts(after(scan.events, changed)) == {D("0.012")}
