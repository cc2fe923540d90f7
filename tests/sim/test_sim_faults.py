"""Every fault type, seen through real ccxt clients or raw WebSocket frames."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest
from simtools import Factory, churn, point_gate, point_mexc, scenario_data

from arb.sim import Fault, FaultKind, Simulator, parse_scenario
from arb.sim.scenario import Scenario

D = Decimal


async def test_http_429_is_a_rate_limit_then_clears(sim: Simulator, clients: Factory) -> None:
    mexc, gate = clients("mexc"), clients("gateio")
    await mexc.load_markets()
    await gate.load_markets()
    sim.inject(Fault(FaultKind.HTTP_429, "mexc"))
    sim.inject(Fault(FaultKind.HTTP_429, "gateio"))
    with pytest.raises(ccxt.RateLimitExceeded):
        await mexc.fetch_balance()
    with pytest.raises(ccxt.RateLimitExceeded):
        await gate.fetch_balance()
    assert (await mexc.fetch_balance())["total"]["BTC"] == 2.0


async def test_5xx_after_place_leaves_a_real_order_to_reconcile(
    sim: Simulator, clients: Factory
) -> None:
    mexc, gate = clients("mexc"), clients("gateio")
    sim.inject(Fault(FaultKind.HTTP_5XX_AFTER_PLACE, "mexc"))
    sim.inject(Fault(FaultKind.HTTP_5XX_AFTER_PLACE, "gateio"))
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await mexc.create_order(
            "BTC/USDT", "limit", "buy", 0.1, 45996, {"timeInForce": "IOC", "clientOrderId": "a1"}
        )
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await gate.create_order(
            "BTC/USDT", "limit", "sell", 0.1, 45990, {"timeInForce": "IOC", "clientOrderId": "t-b1"}
        )
    # the venues did execute: looking the orders up by client id finds the fills
    on_mexc = await mexc.fetch_order(None, "BTC/USDT", {"clientOrderId": "a1"})
    on_gate = await gate.fetch_order("t-b1", "BTC/USDT")
    assert (on_mexc["status"], on_mexc["filled"]) == ("closed", 0.1)
    assert (on_gate["status"], on_gate["filled"]) == ("closed", 0.1)
    assert sim.state("mexc").free["BTC"] == D("2.1") - D("0.1") * D("0.0005")


async def test_reject_next_order_places_nothing(sim: Simulator, clients: Factory) -> None:
    sim.inject(Fault(FaultKind.REJECT_NEXT_ORDER, "mexc"))
    sim.inject(Fault(FaultKind.REJECT_NEXT_ORDER, "gateio"))
    with pytest.raises(ccxt.InvalidOrder):
        await clients("mexc").create_order("BTC/USDT", "limit", "buy", 0.1, 45996)
    with pytest.raises(ccxt.BadRequest):
        await clients("gateio").create_order("BTC/USDT", "limit", "buy", 0.1, 45996)
    assert sim.state("mexc").orders == {}
    assert sim.state("gateio").orders == {}


async def test_delay_makes_a_short_timeout_expire(sim: Simulator, clients: Factory) -> None:
    gate = clients("gateio")
    await gate.load_markets()
    sim.inject(Fault(FaultKind.DELAY, "gateio", duration_ms=5000, delay_ms=400))
    gate.timeout = 100
    with pytest.raises(ccxt.RequestTimeout):
        await gate.fetch_order_book("BTC/USDT")


async def test_drop_ws_breaks_the_stream(sim: Simulator, clients: Factory) -> None:
    gate = clients("gateio")
    await asyncio.wait_for(gate.watch_order_book("BTC/USDT"), 5)
    sim.inject(Fault(FaultKind.DROP_WS, "gateio"))
    sim.set_level("gateio", "BTC/USDT", "bid", D("45990.5"), D("1"))
    with pytest.raises(ccxt.NetworkError):
        await watch_until_error(gate, "BTC/USDT")
    assert not sim.contexts["gateio"].hub.conns


async def watch_until_error(exchange: Any, symbol: str) -> None:
    """Keep watching a book until the stream fails (or give up after 50 updates)."""
    for _ in range(50):
        await asyncio.wait_for(exchange.watch_order_book(symbol), 2)


async def test_crossed_book_reaches_ccxt(sim: Simulator, clients: Factory) -> None:
    gate = clients("gateio")
    await asyncio.wait_for(gate.watch_order_book("ETH/USDT"), 5)
    sim.inject(Fault(FaultKind.CROSSED_BOOK, "gateio", symbol="ETH/USDT"))
    for _ in range(50):
        book = await asyncio.wait_for(gate.watch_order_book("ETH/USDT"), 2)
        if book["bids"][0][0] >= book["asks"][0][0]:
            break
    assert book["bids"][0] == [3500.21, 2.0]
    assert book["asks"][0][0] == 3500.2


async def gate_frames(sim: Simulator, topic: str) -> tuple[Any, aiohttp.ClientSession]:
    """A raw Gate WebSocket subscribed to `topic`; returns (socket, session)."""
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(sim.ws_url("gateio") + "/ws/v4/")
    request = {"time": int(time.time()), "channel": "spot.obu", "event": "subscribe"}
    await ws.send_str(json.dumps(request | {"payload": [topic]}))
    return ws, session


async def next_result(ws: Any) -> dict[str, Any]:
    while True:
        frame = json.loads((await asyncio.wait_for(ws.receive(), 2)).data)
        if "result" in frame and isinstance(frame["result"], dict) and "u" in frame["result"]:
            return dict(frame["result"])


async def test_gate_sequence_numbers_and_skip_seq(sim: Simulator) -> None:
    ws, session = await gate_frames(sim, "ob.BTC_USDT.50")
    try:
        snapshot = await next_result(ws)
        assert snapshot["full"] is True
        sim.set_level("gateio", "BTC/USDT", "bid", D("45990"), D("2"))
        first = await next_result(ws)
        assert first["U"] == snapshot["u"] + 1
        sim.inject(Fault(FaultKind.SKIP_SEQ, "gateio", symbol="BTC/USDT"))
        sim.set_level("gateio", "BTC/USDT", "bid", D("45990"), D("3"))
        gapped = await next_result(ws)
        assert gapped["U"] == first["u"] + 2
        assert gapped["b"] == [["45990", "3"]]
    finally:
        await ws.close()
        await session.close()


async def test_stray_snapshot_resends_the_previous_subscriptions_snapshot(sim: Simulator) -> None:
    ws, session = await gate_frames(sim, "ob.BTC_USDT.50")
    try:
        first = await next_result(ws)
        sim.set_level("gateio", "BTC/USDT", "bid", D("45990"), D("2"))
        moved = await next_result(ws)
        sim.inject(Fault(FaultKind.STRAY_SNAPSHOT, "gateio", symbol="BTC/USDT"))
        for event in ("unsubscribe", "subscribe"):
            request = {"time": int(time.time()), "channel": "spot.obu", "event": event}
            await ws.send_str(json.dumps(request | {"payload": ["ob.BTC_USDT.50"]}))
        own, stray = await next_result(ws), await next_result(ws)
    finally:
        await ws.close()
        await session.close()
    assert own["full"] is True
    assert own["u"] == moved["u"]
    assert stray == first  # the older snapshot, late, after the subscription's own


async def test_mute_book_silences_current_subscriptions_until_resubscribed(
    sim: Simulator,
) -> None:
    ws, session = await gate_frames(sim, "ob.BTC_USDT.50")
    try:
        await next_result(ws)
        sim.inject(Fault(FaultKind.MUTE_BOOK, "gateio", symbol="BTC/USDT"))
        sim.set_level("gateio", "BTC/USDT", "bid", D("45990"), D("2"))
        with pytest.raises(TimeoutError):
            await next_result(ws)  # nothing but pongs would come now
        for event in ("unsubscribe", "subscribe"):
            request = {"time": int(time.time()), "channel": "spot.obu", "event": event}
            await ws.send_str(json.dumps(request | {"payload": ["ob.BTC_USDT.50"]}))
        snapshot = await next_result(ws)
    finally:
        await ws.close()
        await session.close()
    assert snapshot["full"] is True
    assert ["45990", "2"] in snapshot["b"]


def test_stray_snapshot_is_a_gate_fault() -> None:
    with pytest.raises(ValueError, match="stray_snapshot"):
        parse_scenario({"faults": [{"kind": "stray_snapshot", "venue": "mexc"}]})


async def test_stale_fault_lags_venue_timestamps(sim: Simulator) -> None:
    ws, session = await gate_frames(sim, "ob.ETH_USDT.50")
    try:
        fresh = await next_result(ws)
        sim.inject(Fault(FaultKind.STALE, "gateio", duration_ms=10_000, stale_ms=60_000))
        sim.set_level("gateio", "ETH/USDT", "ask", D("3500.25"), D("1"))
        stale = await next_result(ws)
        assert stale["t"] <= fresh["t"] - 59_000
    finally:
        await ws.close()
        await session.close()


async def test_mexc_versions_chain_and_skip_seq(sim: Simulator) -> None:
    decoder = ccxtpro.mexc()
    channel = "spot@public.aggre.depth.v3.api.pb@10ms@ETHUSDT"
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sim.ws_url("mexc") + "/ws")
        await ws.send_str(json.dumps({"method": "SUBSCRIPTION", "params": [channel]}))
        ack = json.loads((await asyncio.wait_for(ws.receive(), 2)).data)
        assert ack == {"id": 0, "code": 0, "msg": channel}
        await ws.send_str(json.dumps({"method": "ping"}))
        assert json.loads((await ws.receive()).data) == {"id": 0, "code": 0, "msg": "PONG"}
        pushes = []
        for step in range(3):
            if step == 2:
                sim.inject(Fault(FaultKind.SKIP_SEQ, "mexc", symbol="ETH/USDT"))
            sim.set_level("mexc", "ETH/USDT", "ask", D("3500.4"), D(step + 1))
            message = await asyncio.wait_for(ws.receive(), 2)
            pushes.append(decoder.decode_proto_msg(message.data)["publicAggreDepths"])
        await ws.close()
    await decoder.close()
    first, second, gapped = ((int(p["fromVersion"]), int(p["toVersion"])) for p in pushes)
    assert second[0] == first[1] + 1
    assert gapped[0] == second[1] + 2
    assert pushes[2]["asks"] == [{"price": "3500.4", "quantity": "3"}]


async def test_scenario_faults_fire_on_schedule() -> None:
    data = scenario_data() | {
        "faults": [{"kind": "reject_next_order", "venue": "gate", "at_ms": 0, "count": 2}]
    }
    scenario: Scenario = parse_scenario(data)
    async with Simulator(scenario) as sim:
        await asyncio.sleep(0.05)
        gate = ccxtpro.gate({"apiKey": "test-key", "secret": "test-secret"})
        point_gate(gate, sim)
        gate.options["fetchMarkets"] = {"types": ["spot"]}
        gate.options["unifiedAccount"] = False
        try:
            for _ in range(2):
                with pytest.raises(ccxt.BadRequest):
                    await gate.create_order("ETH/USDT", "limit", "buy", 1, 3500.2)
            third = await gate.create_order("ETH/USDT", "limit", "buy", 1, 3500.2)
            assert third["status"] == "closed"
        finally:
            await gate.close()
    assert len(sim.state("gateio").orders) == 1


async def test_walk_keeps_the_mexc_stream_alive(sim: Simulator, clients: Factory) -> None:
    # ccxt needs `snapshotDelay` deltas before it takes its REST snapshot
    mexc = clients("mexc")
    task = asyncio.create_task(churn(sim, "mexc", "ETH/USDT"))
    try:
        book = await asyncio.wait_for(mexc.watch_order_book("ETH/USDT"), 5)
    finally:
        task.cancel()
    assert book["asks"][0] == [3500.2, 2.0]


async def test_an_outage_refuses_rest_and_websockets_then_ends(
    sim: Simulator, clients: Factory
) -> None:
    gate, mexc = clients("gateio"), clients("mexc")
    await asyncio.wait_for(gate.watch_order_book("BTC/USDT"), 5)
    sim.inject(Fault(FaultKind.OUTAGE, "gateio", duration_ms=400))
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await gate.fetch_order_book("BTC/USDT")
    with pytest.raises(ccxt.NetworkError):
        await watch_until_error(gate, "BTC/USDT")  # the open connection was dropped ...
    with pytest.raises(ccxt.NetworkError):
        await gate.watch_order_book("BTC/USDT")  # ... and a new one is refused
    assert not sim.contexts["gateio"].hub.conns
    assert (await mexc.fetch_order_book("BTC/USDT"))["bids"]  # the other venue is up
    await asyncio.sleep(0.5)
    assert (await gate.fetch_order_book("BTC/USDT"))["bids"]  # the outage ended


async def test_an_outage_at_zero_is_armed_before_the_first_request() -> None:
    data = scenario_data()
    data["faults"] = [{"kind": "outage", "venue": "mexc", "at_ms": 0, "duration_ms": 60000}]
    async with Simulator(parse_scenario(data)) as sim:
        mexc = ccxtpro.mexc({"enableRateLimit": False})
        point_mexc(mexc, sim)
        try:
            with pytest.raises(ccxt.ExchangeNotAvailable):
                await mexc.fetch_spot_markets()
        finally:
            await mexc.close()
        entries = sim.log.of("mexc", "http")
        assert [(e["fault"], e["status"]) for e in entries] == [("outage", 503)]
