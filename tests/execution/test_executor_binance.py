"""The executor with the real adapter on the simulator, Binance as one leg (signed REST)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from exec_fakes import settings

from arb.config import Secret, VenueSettings
from arb.domain.opportunity import find_opportunity
from arb.execution.executor import Executor, IntentState
from arb.execution.risk import RiskGuard
from arb.ledger import Ledger
from arb.sim import Simulator, load_scenario
from arb.venues import Venue

D = Decimal


async def test_executor_trades_a_planted_opportunity_with_binance_selling(
    ledger: Ledger,
) -> None:
    scenario = dataclasses.replace(load_scenario(), walk=None)
    async with Simulator(scenario) as sim:
        venues: dict[str, Venue] = {}
        try:
            for venue_id in ("mexc", "binance"):
                venues[venue_id] = Venue(
                    VenueSettings(
                        id=venue_id,
                        rest_url=sim.rest_url(venue_id),
                        ws_url=sim.ws_url(venue_id),
                        api_key=Secret(scenario.api_key),
                        api_secret=Secret(scenario.api_secret),
                    )
                )
                await venues[venue_id].load_markets()
            sim.replace_book("mexc", "BTC/USDT", ((D(60000), D(1)),), ((D(60010), D("0.5")),))
            sim.replace_book("binance", "BTC/USDT", ((D(60300), D("0.5")),), ((D(60310), D(1)),))
            buy = await venues["mexc"].fetch_order_book("BTC/USDT", 5)
            sell = await venues["binance"].fetch_order_book("BTC/USDT", 5)
            opp = find_opportunity(
                buy,
                sell,
                venues["mexc"].market("BTC/USDT"),
                venues["binance"].market("BTC/USDT"),
                max_notional=D(100),
                min_profit=D("0.1"),
            )
            assert opp is not None
            start = {v: dict(sim.state(v).free) for v in venues}
            config = settings(settle_delay_s=0.05)
            ex = Executor(venues, ledger, config, await RiskGuard.load(ledger, config))
            outcome = await ex.execute(opp)
            after = {v: dict(sim.state(v).free) for v in venues}
            orders = list(sim.state("binance").orders.values())
        finally:
            for venue in venues.values():
                await venue.close()
    assert outcome.state is IntentState.SETTLED
    # One IOC limit sell reached Binance, with our client order id, and filled at its bid.
    assert len(orders) == 1
    order = orders[0]
    assert (order.side, order.kind, order.tif, order.price) == ("sell", "limit", "ioc", D(60300))
    assert order.client_id.startswith("arb")
    assert order.filled == outcome.sold
    # Binance took its fee from the USDT it paid out; MEXC delivered the coins it sold.
    assert after["binance"]["BTC"] == start["binance"]["BTC"] - order.filled
    assert after["binance"]["USDT"] == start["binance"]["USDT"] + order.cost * (1 - D("0.001"))
    btc = sum(after[v]["BTC"] - start[v]["BTC"] for v in venues)
    assert 0 <= btc < venues["mexc"].market("BTC/USDT").amount_step
