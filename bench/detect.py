"""Opportunity evaluation for one symbol on two venues at depth 20, against a frame's ingest.

Books come from the simulator's random walk (the default scenario's BTC/USDT: MEXC and Gate
precision and fees from their real listings, 20 levels a side) read into arb's OrderBook the
way the stream copies ccxt's book. The "cross" case shifts Gate's ladder 40 bps up, the
default scenario's own dislocation, which pays after both taker fees. The baseline is the
ingest of one real Gate spot.obu delta with integrity hooks, timed beside it.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from arb.domain.book import OrderBook
from arb.domain.opportunity import find_opportunity
from arb.domain.symbols import MarketInfo
from arb.scan.detector import Detector, Limits
from arb.sim.scenario import load_scenario
from arb.sim.venue import VenueState
from arb.sim.walk import Walk
from bench.harness import Row, Stat, interleaved
from bench.ingest import gate_path
from bench.universe import market_infos

SYMBOL = "BTC/USDT"
DEPTH = 20
# max_notional 1000 USDT: at 100 (settings.toml) a 40 bps cross nets 0.15 USDT, below the
# 0.5 USDT min_profit, and the exact walk would still run but find nothing to report.
LIMITS = Limits(max_notional=Decimal(1000), min_profit=Decimal("0.5"), min_profit_pct=Decimal(0))


def walked_books(cross: bool) -> tuple[OrderBook, OrderBook]:
    """MEXC's and Gate's BTC/USDT books after a few walk steps; Gate 40 bps up if `cross`."""
    world = load_scenario()
    states = {v: VenueState(v, world, 1) for v in ("mexc", "gateio")}
    assert world.walk is not None
    walk = Walk(world.walk, states)
    if cross:
        walk.offset_bps[("gateio", SYMBOL)] = world.walk.dislocation_bps
    for step in range(5):
        walk.step(step * world.walk.interval_ms)
    now_ms = time.time_ns() // 1_000_000
    books = []
    for venue, state in states.items():
        bids, asks = state.books[SYMBOL].top(DEPTH)
        books.append(
            OrderBook(
                venue=venue,
                symbol=SYMBOL,
                bids=tuple((float(p), float(a)) for p, a in bids),
                asks=tuple((float(p), float(a)) for p, a in asks),
                timestamp=now_ms,
                nonce=state.books[SYMBOL].version,
                received_at=time.monotonic(),
            )
        )
    return books[0], books[1]


def markets() -> dict[str, MarketInfo]:
    """BTC/USDT's market on each venue, as Venue.load_markets builds them from the sim."""
    world = load_scenario()
    return {m.venue: m for m in market_infos(world) if m.symbol == SYMBOL}


async def run(quick: bool = False) -> list[Row]:
    """on_book and find_opportunity, no-opportunity and cross, beside a Gate delta's ingest."""
    samples, calls, warmup = (20, 10, 20) if quick else (300, 20, 200)
    frames_needed = 4 * (warmup + samples * calls)
    ingest, exchange = await gate_path(guarded=True, count=frames_needed)
    info = markets()
    rows: list[Row] = []
    try:
        for case in ("no opportunity", "profitable cross"):
            mexc_book, gate_book = walked_books(cross=case == "profitable cross")
            detector = Detector(
                {SYMBOL: info},
                LIMITS,
                max_age_ms=60_000,
                mono=time.monotonic,
                wall_ms=lambda: time.time_ns() // 1_000_000,
            )
            arrived = gate_book.timestamp or 0
            detector.on_book(gate_book, arrived)
            events = detector.on_book(mexc_book, arrived)
            found = detector.current
            if (case == "profitable cross") != bool(found):
                raise AssertionError(f"bench: {case}: detector found {found}")

            def on_book(
                book: OrderBook = mexc_book, d: Detector = detector, at: int = arrived
            ) -> None:
                d.on_book(book, at)

            def direct(
                buy: OrderBook = mexc_book, sell: OrderBook = gate_book, m: Any = info
            ) -> None:
                find_opportunity(
                    buy,
                    sell,
                    m["mexc"],
                    m["gateio"],
                    max_notional=LIMITS.max_notional,
                    min_profit=LIMITS.min_profit,
                    min_profit_pct=LIMITS.min_profit_pct,
                )

            evaluated, ingested = interleaved(
                on_book,
                ingest,
                samples=samples,
                calls=calls,
                warmup=warmup,
                scale=1e6,
                unit="us",
            )
            one_way, ingested2 = interleaved(
                direct,
                ingest,
                samples=samples,
                calls=calls,
                warmup=warmup,
                scale=1e6,
                unit="us",
            )
            opportunity = next(iter(found.values()), None)
            details: dict[str, Any] = {"events_on_first_update": len(events)}
            if opportunity is not None:
                details["net_profit_usdt"] = str(opportunity.net_profit)
                details["amount_btc"] = str(opportunity.amount)
            rows.append(_row(f"evaluation, {case}: Detector.on_book", evaluated, ingested, details))
            rows.append(
                _row(f"evaluation, {case}: find_opportunity (one way)", one_way, ingested2, {})
            )
    finally:
        await exchange.close()
    return rows


def _row(operation: str, ours: Stat, ingest: Stat, details: dict[str, Any]) -> Row:
    ratio = ours.median / ingest.median
    return Row(
        operation=operation,
        ours=ours,
        baseline=ingest,
        ratio=round(ratio, 3),
        ratio_means="evaluation / Gate delta ingest",
        target="<= 1x",
        passed=ratio <= 1,
        notes="1 symbol, 2 venues, depth 20; both directions in on_book",
        details=details,
    )
