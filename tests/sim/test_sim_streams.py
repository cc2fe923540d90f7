"""Real ccxt.pro clients on the simulator: markets, REST books and WebSocket books."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from simtools import Factory, book_levels, churn, sim_levels

from arb.sim import Simulator


async def until_equal(exchange: Any, sim: Simulator, venue: str, symbol: str) -> dict[str, Any]:
    """Watch until ccxt's book equals the simulator's book; return ccxt's book."""
    for _ in range(200):
        book = await asyncio.wait_for(exchange.watch_order_book(symbol), 2)
        bids, asks = sim.book(venue, symbol).top()
        if book_levels(book["bids"]) == sim_levels(bids) and book_levels(
            book["asks"]
        ) == sim_levels(asks):
            return dict(book)
    raise AssertionError(f"{venue} {symbol}: ccxt's book never matched the simulator's")


async def test_markets_parse_with_scenario_precision_limits_and_fees(clients: Factory) -> None:
    mexc, gate = clients("mexc"), clients("gateio")
    await mexc.load_markets()
    await gate.load_markets()
    btc = mexc.markets["BTC/USDT"]
    assert btc["active"] is True
    assert btc["precision"] == {"amount": 1e-06, "price": 0.01}
    assert btc["limits"]["amount"]["min"] == 1e-06
    assert btc["limits"]["cost"]["min"] == 1.0
    assert btc["taker"] == 0.0005
    eth = gate.markets["ETH/USDT"]
    assert eth["active"] is True
    assert eth["precision"] == {"amount": 0.0001, "price": 0.01}
    assert eth["limits"]["amount"]["min"] == 0.001
    assert eth["limits"]["cost"]["min"] == 3.0
    assert set(mexc.symbols) == set(gate.symbols) == {"BTC/USDT", "ETH/USDT"}


async def test_rest_order_books_and_time(sim: Simulator, clients: Factory) -> None:
    mexc, gate = clients("mexc"), clients("gateio")
    book = await mexc.fetch_order_book("BTC/USDT", 5)
    assert book["bids"][0] == [45995.47, 0.5]
    assert book["asks"][0] == [45995.48, 0.4]
    assert book["nonce"] == sim.book("mexc", "BTC/USDT").version
    book = await gate.fetch_order_book("ETH/USDT", 5)
    assert book["asks"] == [[3500.2, 2.0], [3500.3, 3.0]]
    assert book["nonce"] == sim.book("gateio", "ETH/USDT").version
    assert abs(await mexc.fetch_time() - await gate.fetch_time()) < 60_000


async def test_mexc_protobuf_stream_matches_simulated_book(
    sim: Simulator, clients: Factory
) -> None:
    mexc = clients("mexc")
    changes = asyncio.create_task(churn(sim, "mexc", "BTC/USDT"))
    try:
        first = await asyncio.wait_for(mexc.watch_order_book("BTC/USDT"), 5)
    finally:
        changes.cancel()
    assert first["symbol"] == "BTC/USDT"
    sim.set_level("mexc", "BTC/USDT", "ask", Decimal("45995.48"), Decimal(0))
    sim.set_level("mexc", "BTC/USDT", "bid", Decimal("45995.40"), Decimal("0.25"))
    book = await until_equal(mexc, sim, "mexc", "BTC/USDT")
    assert book["asks"][0] == [45996.0, 0.6]
    assert book["bids"][1] == [45995.4, 0.25]
    # the REST snapshot came after ccxt cached the deltas, as on the real venue
    depth = [e for e in sim.log.of("mexc", "http") if e["path"] == "/api/v3/depth"]
    assert depth
    assert "limit" not in depth[0]["query"]


async def test_gate_obu_stream_matches_simulated_book(sim: Simulator, clients: Factory) -> None:
    gate = clients("gateio")
    book = await asyncio.wait_for(gate.watch_order_book("ETH/USDT"), 5)
    assert book["bids"][0] == [3500.1, 2.0]
    sim.set_level("gateio", "ETH/USDT", "bid", Decimal("3500.15"), Decimal("1.5"))
    sim.set_level("gateio", "ETH/USDT", "ask", Decimal("3500.30"), Decimal(0))
    book = await until_equal(gate, sim, "gateio", "ETH/USDT")
    assert book["bids"][0] == [3500.15, 1.5]
    assert book["nonce"] == sim.book("gateio", "ETH/USDT").version
    subscribe = sim.log.of("gateio", "ws_in")[0]["frame"]
    assert subscribe["channel"] == "spot.obu"
    assert subscribe["payload"] == ["ob.ETH_USDT.50"]


async def test_taking_liquidity_is_pushed_to_subscribers(sim: Simulator, clients: Factory) -> None:
    gate = clients("gateio")
    await asyncio.wait_for(gate.watch_order_book("BTC/USDT"), 5)
    await gate.create_order("BTC/USDT", "limit", "buy", 0.5, 45996.0, {"timeInForce": "IOC"})
    book = await until_equal(gate, sim, "gateio", "BTC/USDT")
    # 0.4 at 45995.48 gone, 0.1 of 0.6 at 45996 taken
    assert book["asks"][:2] == [[45996.0, 0.5], [46000.0, 1.5]]
