"""More books than one WebSocket connection may carry are spread over further connections."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from arb.config import Secret, VenueSettings
from arb.domain.book import OrderBook
from arb.sim.scenario import load_scenario
from arb.sim.server import Simulator
from arb.venues import Venue

SYMBOLS = ("BTC/USDT", "ETH/USDT", "LTC/USDT")


async def first_book(venue: Venue, symbol: str) -> OrderBook:
    async for event in venue.watch_book(symbol, 5, ready_timeout=0.5):
        if isinstance(event, OrderBook):
            return event
    raise AssertionError("stream ended")  # pragma: no cover


@pytest.mark.parametrize("venue_id", ["mexc", "gateio"])
async def test_books_beyond_the_per_connection_limit_open_another_connection(
    venue_id: str,
) -> None:
    scenario = load_scenario()
    async with Simulator(scenario) as sim:
        settings = VenueSettings(
            id=venue_id,
            rest_url=sim.rest_url(venue_id),
            ws_url=sim.ws_url(venue_id),
            api_key=Secret(scenario.api_key),
            api_secret=Secret(scenario.api_secret),
        )
        async with Venue(settings) as venue:
            venue.profile = dataclasses.replace(venue.profile, books_per_connection=2)
            await venue.load_markets()
            books = await asyncio.wait_for(
                asyncio.gather(*(first_book(venue, s) for s in SYMBOLS)), 20
            )
            assert venue.connections == 2
            assert [b.symbol for b in books] == list(SYMBOLS)
            assert all(b.bids and b.asks and not b.crossed for b in books)
            hub = sim.contexts[venue_id].hub
            assert len(hub.conns) == 2
