"""The adapter against the project's loopback simulator: fills, fees, lookups and streams."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from arb.config import Secret, VenueSettings
from arb.domain.book import OrderBook
from arb.errors import OrderRejected
from arb.sim.scenario import load_scenario
from arb.sim.server import Simulator
from arb.venues import OrderStatus, Venue
from arb.venues.adapter import Fee
from arb.venues.binance import PROFILE as BINANCE

D = Decimal
VENUES = ("mexc", "gateio")


@asynccontextmanager
async def simulated(
    venue_id: str, *, walk: bool = False, clock: Callable[[], float] | None = None
) -> AsyncIterator[tuple[Simulator, Venue]]:
    scenario = load_scenario()
    if not walk:
        scenario = dataclasses.replace(scenario, walk=None)  # books move only when told
    async with Simulator(scenario) as sim:
        settings = VenueSettings(
            id=venue_id,
            rest_url=sim.rest_url(venue_id),
            ws_url=sim.ws_url(venue_id),
            api_key=Secret(scenario.api_key),
            api_secret=Secret(scenario.api_secret),
        )
        async with Venue(settings, **({} if clock is None else {"clock": clock})) as venue:
            await venue.load_markets()
            yield sim, venue


def thin_ask(sim: Simulator, venue_id: str) -> None:
    """0.01 BTC offered at 60010, the next offer far away: a 0.05 IOC buy fills partly."""
    sim.replace_book(
        venue_id,
        "BTC/USDT",
        ((D("60000"), D("1")),),
        ((D("60010"), D("0.01")), (D("61000"), D("1"))),
    )


@pytest.mark.parametrize("venue_id", VENUES)
async def test_a_partly_filled_ioc_is_canceled_with_its_fill(venue_id: str) -> None:
    async with simulated(venue_id) as (sim, venue):
        thin_ask(sim, venue_id)
        before = await venue.fetch_balance()
        placed = await venue.create_order("BTC/USDT", "buy", D("0.05"), D("60010"), "arbpart1")
        order = placed
        if not placed.final:  # MEXC answers a create without status or fills
            assert venue_id == "mexc"
            assert placed.status is OrderStatus.UNKNOWN
            assert placed.id is not None
            fetched = await venue.fetch_order("BTC/USDT", order_id=placed.id)
            assert fetched is not None
            order = fetched
        after = await venue.fetch_balance()
    assert order.status is OrderStatus.CANCELED  # the venue's word for "IOC rest canceled"
    assert order.filled == D("0.01")
    assert order.average == D("60010")
    assert order.cost == D("600.1")
    assert order.client_order_id == "arbpart1"
    # Fees: Gate reports them; MEXC's are derived from the taker rate (0.0005 in the scenario).
    fee_rate = D("0.0005") if venue_id == "mexc" else D("0.002")
    assert order.fees == (
        Fee(currency="BTC", cost=D("0.01") * fee_rate, estimated=venue_id == "mexc"),
    )
    assert after.free["BTC"] - before.free["BTC"] == D("0.01") - D("0.01") * fee_rate


@pytest.mark.parametrize("venue_id", VENUES)
async def test_an_order_is_found_by_client_id_and_an_unknown_one_is_none(venue_id: str) -> None:
    async with simulated(venue_id) as (sim, venue):
        thin_ask(sim, venue_id)
        placed = await venue.create_order("BTC/USDT", "buy", D("0.001"), D("60010"), "arbfind1")
        found = await venue.fetch_order("BTC/USDT", client_order_id="arbfind1")
        missing = await venue.fetch_order("BTC/USDT", client_order_id="arbnever1")
    assert found is not None
    assert found.id == placed.id
    assert found.filled == D("0.001")
    assert found.status is OrderStatus.CLOSED
    assert missing is None


@pytest.mark.parametrize("venue_id", VENUES)
async def test_canceling_a_finished_order_is_rejected(venue_id: str) -> None:
    async with simulated(venue_id) as (sim, venue):
        thin_ask(sim, venue_id)
        placed = await venue.create_order("BTC/USDT", "buy", D("0.001"), D("60010"), "arbdone1")
        assert placed.id is not None
        with pytest.raises(OrderRejected):
            await venue.cancel_order("BTC/USDT", placed.id)


@pytest.mark.parametrize("venue_id", VENUES)
async def test_watch_book_streams_valid_books(venue_id: str) -> None:
    async with simulated(venue_id, walk=True) as (_sim, venue):
        books: list[OrderBook] = []
        async for event in venue.watch_book("BTC/USDT", 5, ready_timeout=2.0):
            if isinstance(event, OrderBook):
                books.append(event)
            if len(books) == 2:
                break
    for book in books:
        assert (book.venue, book.symbol) == (venue_id, "BTC/USDT")
        assert 0 < len(book.bids) <= 5
        assert not book.crossed


@pytest.mark.parametrize("venue_id", VENUES)
async def test_a_market_buy_spends_amount_times_reference_price(venue_id: str) -> None:
    # Gate sizes a market buy in quote currency: the adapter sends amount x price as cost.
    async with simulated(venue_id) as (sim, venue):
        thin_ask(sim, venue_id)
        placed = await venue.create_order(
            "BTC/USDT", "buy", D("0.01"), D("60010"), "arbmkt1", market=True
        )
        order = await venue.fetch_order("BTC/USDT", client_order_id="arbmkt1")
    assert placed.client_order_id == "arbmkt1"
    assert order is not None
    assert order.filled == D("0.01")
    assert order.cost == D("600.1")


async def test_binance_charges_a_snapshot_the_weight_of_the_levels_it_asks_for() -> None:
    # Binance weighs a depth request of up to 100 levels 5 (25 from 101). The clock stands
    # still, so the read budget never refills: after load_markets (weight 20), its burst
    # of 540 holds 104 snapshots of 20 levels at weight 5. Charged 25 each, the 21st on
    # would wait for tokens that never come back (minutes in all) and the timeout fires.
    reads = BINANCE.budgets["REQUEST_WEIGHT"].burst
    async with simulated("binance", clock=lambda: 0.0) as (sim, venue):
        thin_ask(sim, "binance")
        async with asyncio.timeout(30):
            books = [await venue.fetch_order_book("BTC/USDT", 20) for _ in range((reads - 20) // 5)]
    assert len(books) == 104
    assert {(book.bids, book.asks) for book in books} == {
        (((60000.0, 1.0),), ((60010.0, 0.01), (61000.0, 1.0)))
    }


async def test_binance_waits_for_a_deep_snapshot_s_weight() -> None:
    # Twenty 200-level snapshots (weight 25 each) and load_markets (20) spend the read burst
    # of 540 but for 20, and the standing clock refills nothing: a 5000-level snapshot
    # (weight 250) waits about 2.8 s for its tokens, where a 100-level one would not.
    async with simulated("binance", clock=lambda: 0.0) as (sim, venue):
        thin_ask(sim, "binance")
        for _ in range(20):
            await venue.fetch_order_book("BTC/USDT", 200)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.0):
                await venue.fetch_order_book("BTC/USDT", 5000)
