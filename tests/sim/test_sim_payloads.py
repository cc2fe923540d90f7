"""The simulator answers in the venues' real shapes (keys of the recorded samples)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
from simtools import Factory, sample

from arb.sim import Simulator


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.json()


async def test_mexc_public_rest_shapes(sim: Simulator) -> None:
    base = sim.rest_url("mexc")
    info = await get_json(base + "/api/v3/exchangeInfo")
    recorded = sample("mexc", "exchangeInfo")["variants"][0]["payload"]
    assert info.keys() == recorded.keys()
    assert info["symbols"][0].keys() == recorded["symbols"][0].keys()
    depth = await get_json(base + "/api/v3/depth?symbol=BTCUSDT&limit=1")
    assert depth.keys() == sample("mexc", "depth")["payload"].keys()
    assert depth["bids"] == [["45995.47", "0.5"]]
    assert (await get_json(base + "/api/v3/time")).keys() == {"serverTime"}
    contract = await get_json(base + "/api/v1/contract/detail")
    assert contract == sample("mexc", "contract_detail")["payload"] | {"data": []}


async def test_gate_public_rest_shapes(sim: Simulator) -> None:
    base = sim.rest_url("gateio") + "/api/v4"
    pairs = await get_json(base + "/spot/currency_pairs")
    documented = sample("gate", "spot_currency_pairs")["variants"][0]["payload"][0]
    assert pairs[0].keys() == documented.keys()
    book = await get_json(base + "/spot/order_book?currency_pair=ETH_USDT&limit=1&with_id=true")
    assert book.keys() == sample("gate", "order_book")["payload"].keys()
    currencies = await get_json(base + "/spot/currencies")
    assert currencies[0].keys() == sample("gate", "spot_currencies")["payload"][0].keys()
    assert await get_json(base + "/margin/currency_pairs") == []
    assert (await get_json(base + "/spot/time")).keys() == {"server_time"}


async def test_signed_answers_have_the_recorded_keys(clients: Factory) -> None:
    mexc, gate = clients("mexc"), clients("gateio")
    placed = await mexc.create_order("BTC/USDT", "limit", "buy", 0.1, 45996)
    assert placed["info"].keys() <= sample("mexc", "order_post")["payload"].keys()
    fetched = await mexc.fetch_order(placed["id"], "BTC/USDT")
    assert fetched["info"].keys() == sample("mexc", "order_get")["payload"].keys()
    balance = await mexc.fetch_balance()
    assert balance["info"].keys() == sample("mexc", "account")["payload"].keys()
    fee = await mexc.fetch_trading_fee("BTC/USDT")
    assert fee["info"].keys() == sample("mexc", "tradeFee")["payload"]["data"].keys()
    order = await gate.create_order("BTC/USDT", "limit", "buy", 0.1, 45996)
    assert order["info"].keys() == sample("gate", "spot_orders_post")["payload"].keys()
    rows = (await gate.fetch_balance())["info"]
    assert rows[0].keys() == sample("gate", "spot_accounts")["payload"][0].keys()
    fee = await gate.fetch_trading_fee("BTC/USDT")
    assert fee["info"].keys() == sample("gate", "wallet_fee")["variants"][0]["payload"].keys()


async def test_stream_frames_have_the_recorded_shapes(sim: Simulator) -> None:
    recorded_push = sample("mexc", "ws_aggre_depth_pb")["payload"]
    recorded_obu = sample("gate", "ws_spot_obu")["frames"]
    decoder = ccxtpro.mexc()
    async with aiohttp.ClientSession() as session:
        mexc = await session.ws_connect(sim.ws_url("mexc") + "/ws")
        channel = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
        await mexc.send_str(json.dumps({"method": "SUBSCRIPTION", "params": [channel]}))
        await mexc.receive()
        sim.set_level("mexc", "BTC/USDT", "bid", Decimal("45995.1"), Decimal("1"))
        push = decoder.decode_proto_msg((await asyncio.wait_for(mexc.receive(), 2)).data)
        assert push.keys() == recorded_push.keys()
        assert push["publicAggreDepths"].keys() == {"bids", "eventType", "fromVersion", "toVersion"}
        gate = await session.ws_connect(sim.ws_url("gateio") + "/ws/v4/")
        subscribe = recorded_obu["client_subscribe_sent_by_ccxt"]
        await gate.send_str(json.dumps(subscribe))
        ack = json.loads((await gate.receive()).data)
        assert ack.keys() == recorded_obu["server_subscribe_ack"].keys() | {"id"}
        full = json.loads((await gate.receive()).data)
        assert full.keys() == recorded_obu["server_full_snapshot"].keys()
        assert full["result"].keys() == recorded_obu["server_full_snapshot"]["result"].keys()
        sim.set_level("gateio", "BTC/USDT", "ask", Decimal("45995.9"), Decimal("1"))
        delta = json.loads((await asyncio.wait_for(gate.receive(), 2)).data)
        assert delta["result"].keys() == recorded_obu["server_incremental"]["result"].keys()
        await mexc.close()
        await gate.close()
    await decoder.close()
