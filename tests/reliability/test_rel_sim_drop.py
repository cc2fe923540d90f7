"""The simulator survives its own `drop_ws` fault quietly: no handler error per dropped socket."""

from __future__ import annotations

import asyncio
import logging

import pytest
from reltools import eventually, scenario

from arb.config import VenueSettings
from arb.sim import Fault, FaultKind, Simulator
from arb.venues import Venue


async def test_dropping_a_connection_with_frames_queued_is_not_a_handler_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="aiohttp.server")
    async with Simulator(scenario()) as sim:
        hub = sim.contexts["gateio"].hub
        settings = VenueSettings(
            id="gateio", rest_url=sim.rest_url("gateio"), ws_url=sim.ws_url("gateio")
        )
        async with Venue(settings) as venue:
            await venue.load_markets()
            stream = venue.watch_book("BTC/USDT", 5, ready_timeout=0.3)
            await anext(stream)
            (conn,) = hub.conns
            for _ in range(50):  # a backlog the writer is still working through
                conn.send("{}" * 5000)
            sim.inject(Fault(FaultKind.DROP_WS, "gateio"))
            await eventually(lambda: conn not in hub.conns, what="the dropped connection gone")
            await asyncio.sleep(0.05)
            await stream.aclose()
    errors = [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"]
    assert errors == []
    assert sim.crashes == []
