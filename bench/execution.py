"""Execution cycle on the simulator with a fixed injected round-trip time, against 2 x that time.

A trade needs two venue round trips before both legs are acknowledged: fresh balances from
both venues (concurrently), then both IOC legs (concurrently). So 2 x RTT is the floor and
the target bounds what arb adds on top (sizing, the durable intent write, signing, ccxt).
The RTT is the simulator's DELAY fault on every REST request of both venues. Books are the
default scenario's BTC/USDT walk with Gate 40 bps up (its own dislocation), restored after
every trade; the opportunity is read through the adapters' REST books as a scan would see it.
"""

from __future__ import annotations

import dataclasses
import tempfile
from decimal import Decimal
from pathlib import Path

from arb.domain.opportunity import Opportunity, find_opportunity
from arb.execution.executor import Executor, IntentState
from arb.execution.risk import RiskGuard
from arb.execution.settings import ExecutionSettings
from arb.ledger import Ledger
from arb.sim import Fault, FaultKind, Simulator, load_scenario
from arb.sim.venue import VenueState
from arb.sim.walk import Walk
from arb.venues.adapter import Venue
from bench.harness import Row, Stat, summarize
from bench.startup import venue_settings

SYMBOL = "BTC/USDT"
RTT_MS = 50
VENUES = ("mexc", "gateio")
# min_profit 0.05 USDT: at max_notional 100 the 40 bps cross nets about 0.15 after fees.
CONFIG = ExecutionSettings(
    max_notional=Decimal(100),
    min_profit=Decimal("0.05"),
    settle_delay_s=0.0,
    kill_switch_path=None,
)


def crossed_books() -> dict[str, tuple[tuple[tuple[Decimal, Decimal], ...], ...]]:
    """BTC/USDT ladders (bids, asks) per venue from the walk, Gate 40 bps up."""
    world = load_scenario()
    assert world.walk is not None
    states = {v: VenueState(v, world, 1) for v in VENUES}
    walk = Walk(world.walk, states)
    walk.offset_bps[("gateio", SYMBOL)] = world.walk.dislocation_bps
    walk.step(0)
    return {v: states[v].books[SYMBOL].top() for v in VENUES}


async def seen(venues: dict[str, Venue]) -> Opportunity:
    """The opportunity in the venues' REST books (buy MEXC, sell Gate)."""
    buy = await venues["mexc"].fetch_order_book(SYMBOL, 20)
    sell = await venues["gateio"].fetch_order_book(SYMBOL, 20)
    found = find_opportunity(
        buy,
        sell,
        venues["mexc"].market(SYMBOL),
        venues["gateio"].market(SYMBOL),
        max_notional=CONFIG.max_notional,
        min_profit=CONFIG.min_profit,
    )
    if found is None:
        raise AssertionError("bench: the crossed books show no opportunity")
    return found


async def run(quick: bool = False) -> list[Row]:
    """Trade the same opportunity repeatedly under a fixed RTT; cycle = seen -> both acks.

    The same trades without an injected delay show what the cycle costs beyond the RTT.
    """
    trades = 3 if quick else 15
    cycles = await cycles_ms(trades, RTT_MS)
    bare = await cycles_ms(trades, 0)
    stat = summarize(cycles, "ms")
    floor = 2 * RTT_MS
    ratio = stat.median / floor
    return [
        Row(
            operation=f"execution cycle on the simulator, RTT {RTT_MS} ms: seen -> both legs acked",
            ours=stat,
            baseline=Stat(floor, floor, "ms", 1),
            ratio=round(ratio, 3),
            ratio_means="cycle / (2 x RTT)",
            target="<= 1.1x",
            passed=ratio <= 1.1,
            notes=f"{len(cycles)} settled trades, fresh balances + concurrent IOC legs",
            details={
                "cycles_ms": [round(c, 2) for c in cycles],
                "without_injected_rtt_ms": summarize(bare, "ms").median,
            },
        )
    ]


async def cycles_ms(trades: int, rtt_ms: int) -> list[float]:
    """cycle_ms of `trades` settled trades with every REST request delayed `rtt_ms`."""
    world = dataclasses.replace(load_scenario(), walk=None)
    books = crossed_books()
    cycles: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(Path(folder) / "ledger.sqlite")
        try:
            async with Simulator(world) as sim:
                venues = {v: Venue(venue_settings(sim, world, v)) for v in VENUES}
                try:
                    for venue in venues.values():
                        await venue.load_markets()
                    executor = Executor(
                        venues, ledger, CONFIG, await RiskGuard.load(ledger, CONFIG)
                    )
                    for _ in range(trades):
                        for venue_id, (bids, asks) in books.items():
                            sim.replace_book(venue_id, SYMBOL, bids, asks)
                            sim.flush(venue_id)
                        opp = await seen(venues)
                        for venue_id in VENUES:
                            sim.inject(
                                Fault(
                                    FaultKind.DELAY, venue_id, duration_ms=60_000, delay_ms=rtt_ms
                                )
                            )
                        outcome = await executor.execute(opp)
                        for venue_id in VENUES:  # the next REST book read is not timed
                            sim.inject(Fault(FaultKind.DELAY, venue_id, duration_ms=1, delay_ms=0))
                        if outcome.state is not IntentState.SETTLED or outcome.cycle_ms is None:
                            raise AssertionError(f"bench: trade ended {outcome.state}: {outcome}")
                        cycles.append(outcome.cycle_ms)
                finally:
                    for venue in venues.values():
                        await venue.close()
        finally:
            ledger.close()
    return cycles
