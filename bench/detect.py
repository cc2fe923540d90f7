"""Opportunity evaluation for one symbol on two venues at depth 20, against a frame's ingest.

Books come from the simulator's random walk (the default scenario's BTC/USDT: MEXC and Gate
precision and fees from their real listings, 20 levels a side) read into arb's OrderBook the
way the stream copies ccxt's book. The "cross" case shifts Gate's ladder 40 bps up, the
default scenario's own dislocation, which pays after both taker fees. The baseline is the
ingest of the frame that triggered the evaluation, on the production path and timed beside
it: a real Gate spot.obu delta or a real MEXC depth push. find_opportunity alone is held
to the cheaper of the two, the Gate delta.
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
from bench.ingest import gate_path, mexc_path
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
    pair = ("mexc", "gateio")  # the two venues whose frames are timed here
    return {m.venue: m for m in market_infos(world) if m.symbol == SYMBOL and m.venue in pair}


async def run(quick: bool = False) -> list[Row]:
    """Detector.on_book after each venue's frame, beside that frame's ingest; and one-way
    find_opportunity beside the cheaper (Gate) ingest. No-opportunity and cross cases."""
    samples, calls, warmup = (20, 10, 20) if quick else (300, 20, 200)
    frames_needed = 4 * (warmup + samples * calls)
    ingests = {
        "gateio": await gate_path(guarded=True, count=frames_needed),
        "mexc": await mexc_path(count=frames_needed),
    }
    info = markets()
    rows: list[Row] = []
    try:
        for case in ("no opportunity", "profitable cross"):
            mexc_book, gate_book = walked_books(cross=case == "profitable cross")
            books = {"mexc": mexc_book, "gateio": gate_book}
            for trigger, frame in (("gateio", "Gate spot.obu delta"), ("mexc", "MEXC push")):
                detector = Detector(
                    {SYMBOL: info},
                    LIMITS,
                    max_age_ms=60_000,
                    mono=time.monotonic,
                    wall_ms=lambda: time.time_ns() // 1_000_000,
                )
                arrived = books[trigger].timestamp or 0
                other = "mexc" if trigger == "gateio" else "gateio"
                detector.on_book(books[other], arrived)
                events = detector.on_book(books[trigger], arrived)
                found = detector.current
                if (case == "profitable cross") != bool(found):
                    raise AssertionError(f"bench: {case}: detector found {found}")

                def on_book(
                    book: OrderBook = books[trigger], d: Detector = detector, at: int = arrived
                ) -> None:
                    d.on_book(book, at)

                evaluated, ingested = interleaved(
                    on_book,
                    ingests[trigger][0],
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
                rows.append(
                    _row(
                        f"evaluation, {case}: Detector.on_book after a {frame}",
                        evaluated,
                        ingested,
                        f"evaluation / {frame} ingest",
                        details,
                    )
                )

            def direct(
                buy: OrderBook = books["mexc"], sell: OrderBook = books["gateio"], m: Any = info
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

            one_way, ingested = interleaved(
                direct,
                ingests["gateio"][0],
                samples=samples,
                calls=calls,
                warmup=warmup,
                scale=1e6,
                unit="us",
            )
            rows.append(
                _row(
                    f"evaluation, {case}: find_opportunity (one way)",
                    one_way,
                    ingested,
                    "evaluation / Gate spot.obu delta ingest (the cheaper frame)",
                    {},
                )
            )
    finally:
        for _, exchange in ingests.values():
            await exchange.close()
    return rows


def _row(
    operation: str, ours: Stat, ingest: Stat, ratio_means: str, details: dict[str, Any]
) -> Row:
    ratio = ours.median / ingest.median
    return Row(
        operation=operation,
        ours=ours,
        baseline=ingest,
        ratio=round(ratio, 3),
        ratio_means=ratio_means,
        target="<= 1x",
        passed=ratio <= 1,
        notes="1 symbol, 2 venues, depth 20; both directions in on_book",
        details=details,
    )
