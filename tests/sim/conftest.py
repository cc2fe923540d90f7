"""Fixtures for the simulator tests: a small fast scenario and real ccxt.pro clients on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from simtools import KEY, SECRET, Factory, point_gate, point_mexc, scenario_data

from arb.sim import Scenario, Simulator, parse_scenario


@pytest.fixture
def scenario() -> Scenario:
    """The small test scenario."""
    return parse_scenario(scenario_data())


@pytest.fixture
async def sim(scenario: Scenario) -> AsyncIterator[Simulator]:
    """A running simulator on ephemeral loopback ports."""
    async with Simulator(scenario) as running:
        yield running
    assert running.crashes == []


@pytest.fixture
async def clients(sim: Simulator) -> AsyncIterator[Factory]:
    """Build ccxt.pro clients on the simulator; all are closed after the test."""
    made: list[Any] = []

    def make(venue: str, secret: str = SECRET, **options: Any) -> Any:
        # ccxt's own throttle spaces MEXC's weighted calls by seconds; the sim has no limits
        config: dict[str, Any] = {"apiKey": KEY, "secret": secret, "enableRateLimit": False}
        if venue == "mexc":
            config["options"] = {"watchOrderBook": {"snapshotDelay": 2}} | options
            exchange = ccxtpro.mexc(config)
            point_mexc(exchange, sim)
        else:
            config["options"] = {"fetchMarkets": {"types": ["spot"]}, "unifiedAccount": False}
            config["options"] |= options
            exchange = ccxtpro.gate(config)
            point_gate(exchange, sim)
        made.append(exchange)
        return exchange

    yield make
    await asyncio.gather(*(exchange.close() for exchange in made))
