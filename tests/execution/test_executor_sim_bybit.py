"""The executor with Bybit as one leg: real adapter, ccxt's signed v5 requests, simulator."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from exec_fakes import rows, settings

from arb.config import Secret, VenueSettings
from arb.domain.opportunity import Opportunity, find_opportunity
from arb.execution.executor import Executor, IntentState
from arb.execution.risk import RiskGuard
from arb.ledger import Ledger
from arb.sim import Fault, FaultKind, Simulator, load_scenario
from arb.venues import Venue

D = Decimal
SYMBOL = "BTC/USDT"


@asynccontextmanager
async def world() -> AsyncIterator[tuple[Simulator, dict[str, Venue]]]:
    """The default scenario with still books: Bybit's ask below MEXC's bid beyond both fees."""
    scenario = dataclasses.replace(load_scenario(), walk=None)
    async with Simulator(scenario) as sim:
        venues: dict[str, Venue] = {}
        try:
            for venue_id in ("bybit", "mexc"):
                venue = Venue(
                    VenueSettings(
                        id=venue_id,
                        rest_url=sim.rest_url(venue_id),
                        ws_url=sim.ws_url(venue_id),
                        api_key=Secret(scenario.api_key),
                        api_secret=Secret(scenario.api_secret),
                    )
                )
                venues[venue_id] = venue
                await venue.load_markets()
            sim.replace_book(
                "bybit", SYMBOL, ((D(60000), D(1)),), ((D("60010.0"), D("0.5")), (D(60020), D(1)))
            )
            sim.replace_book(
                "mexc", SYMBOL, ((D(60300), D("0.5")), (D(60200), D(1))), ((D(60310), D(1)),)
            )
            yield sim, venues
        finally:
            for venue in venues.values():
                await venue.close()
    assert sim.crashes == []


async def seen(venues: dict[str, Venue]) -> Opportunity:
    buy = await venues["bybit"].fetch_order_book(SYMBOL, 5)
    sell = await venues["mexc"].fetch_order_book(SYMBOL, 5)
    opp = find_opportunity(
        buy,
        sell,
        venues["bybit"].market(SYMBOL),
        venues["mexc"].market(SYMBOL),
        max_notional=D(100),
        min_profit=D("0.1"),
    )
    assert opp is not None
    return opp


async def executor(venues: dict[str, Venue], ledger: Ledger) -> Executor:
    config = settings(settle_delay_s=0.05)
    return Executor(venues, ledger, config, await RiskGuard.load(ledger, config))


def calls(sim: Simulator, venue: str) -> list[tuple[str, str]]:
    return [
        (e["method"], e["path"]) for e in sim.log.of(venue, "http") if e["path"].startswith("/v5/")
    ]


async def test_a_trade_buying_on_bybit_settles_and_balances_match_the_ledger(
    ledger: Ledger,
) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        start = {v: dict(sim.state(v).free) for v in venues}
        outcome = await (await executor(venues, ledger)).execute(opp)
        after = {v: dict(sim.state(v).free) for v in venues}
        bybit_calls = calls(sim, "bybit")
        (placed,) = sim.state("bybit").orders.values()

    assert outcome.state is IntentState.SETTLED
    assert bybit_calls.count(("POST", "/v5/order/create")) == 1
    assert ("GET", "/v5/account/wallet-balance") in bybit_calls
    # The create answer carries no fills: the order is read back before settling.
    assert ("GET", "/v5/order/realtime") in bybit_calls
    assert (placed.side, placed.kind, placed.tif, placed.price) == ("buy", "limit", "ioc", D(60010))
    orders = {o["exchange"]: o for o in await rows(ledger, "SELECT * FROM orders")}
    buy = orders["bybit"]
    assert buy["status"] == "closed"
    assert buy["client_order_id"] == placed.client_id
    # Bybit takes the buy's fee from the BTC it delivers; the ledger matches the venue.
    assert buy["fee_currency"] == "BTC"
    assert after["bybit"]["USDT"] - start["bybit"]["USDT"] == -D(str(buy["cost"]))
    assert after["bybit"]["BTC"] - start["bybit"]["BTC"] == D(str(buy["filled"])) - D(
        str(buy["fee"])
    )
    btc = sum(after[v]["BTC"] - start[v]["BTC"] for v in venues)
    assert 0 <= btc < venues["bybit"].market(SYMBOL).amount_step


async def test_a_bybit_5xx_after_placement_is_found_by_order_link_id_not_resent(
    ledger: Ledger,
) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        sim.inject(Fault(FaultKind.HTTP_5XX_AFTER_PLACE, "bybit"))
        outcome = await (await executor(venues, ledger)).execute(opp)
        bybit_calls = calls(sim, "bybit")
        lookups = [
            e["query"] for e in sim.log.of("bybit", "http") if e["path"] == "/v5/order/realtime"
        ]
        placed = len(sim.state("bybit").orders)

    assert outcome.state is IntentState.SETTLED
    assert (bybit_calls.count(("POST", "/v5/order/create")), placed) == (1, 1)
    assert outcome.bought == opp.amount
    assert any("orderLinkId=" in q and "orderId=" not in q for q in lookups)
