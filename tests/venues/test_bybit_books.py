"""Bybit orderbook frames through the real ccxt.pro bybit code with arb's integrity hooks.

The snapshot is Bybit's documented `orderbook.50.BTCUSDT` example (tests/data/bybit, with its
source); deltas keep its shape (`type: delta`, same `data` keys) and change only `u` and
which documented levels they carry, as tests/venues/test_books.py does for MEXC and Gate.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import ccxt.pro
import pytest

from arb.venues import bybit
from arb.venues.integrity import BookState, Wake, guard_for, message_hash

DATA = Path(__file__).resolve().parents[1] / "data" / "bybit"
SYMBOL = "BTC/USDT"
URL = "ws://127.0.0.1:9/v5/public/spot"  # never connected: frames go to the client directly
SNAPSHOT: dict[str, Any] = json.loads((DATA / "ws_orderbook.json").read_text())["snapshot"]
INSTRUMENTS = json.loads((DATA / "instruments_info.json").read_text())["payload"]
U0 = SNAPSHOT["data"]["u"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def snapshot(u: int = U0) -> dict[str, Any]:
    frame = copy.deepcopy(SNAPSHOT)
    frame["data"]["u"] = u
    return frame


def delta(
    u: int, *, bids: list[list[str]] | None = None, asks: list[list[str]] | None = None
) -> dict[str, Any]:
    """A delta in the snapshot's shape: `u` and the documented levels it changes."""
    frame = copy.deepcopy(SNAPSHOT)
    frame["type"] = "delta"
    frame["data"]["u"] = u
    frame["data"]["b"] = bids or []
    frame["data"]["a"] = asks or []
    return frame


@pytest.fixture
async def venue() -> Any:
    exchange = ccxt.pro.bybit({"enableRateLimit": False, "options": dict(bybit.PROFILE.options)})
    exchange.timeout_on_exit = 0
    exchange.has["fetchCurrencies"] = False

    async def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        assert "/v5/market/instruments-info" in url
        assert "category=spot" in url
        return INSTRUMENTS

    exchange.fetch = fetch
    await exchange.load_markets()
    guard = guard_for(exchange)
    state = BookState(venue="bybit", symbol=SYMBOL, clock=Clock())
    guard.books[SYMBOL] = state
    client = exchange.client(URL)
    yield exchange, client, state
    await exchange.close()


def feed(exchange: Any, client: Any, frame: dict[str, Any]) -> str:
    """Hand a frame to ccxt's message handler; what a watcher of the book got from it."""
    waiter = client.future(message_hash(SYMBOL))
    exchange.handle_message(client, frame)
    if not waiter.done():
        del client.futures[message_hash(SYMBOL)]
        return "nothing"
    return "wake" if isinstance(waiter.exception(), Wake) else "book"


def top(exchange: Any) -> tuple[list[float], list[float]]:
    book = exchange.orderbooks[SYMBOL]
    return list(book["bids"][0]), list(book["asks"][0])


def test_the_markets_are_bybits_real_spot_listing(venue: Any) -> None:
    exchange, _, _ = venue
    market = exchange.market(SYMBOL)
    assert market["precision"] == {"amount": 0.000001, "price": 0.1}
    assert market["limits"]["amount"]["min"] == 0.000011
    assert market["limits"]["cost"]["min"] == 5


def test_snapshot_then_in_order_deltas_apply_with_u_as_nonce(venue: Any) -> None:
    exchange, client, state = venue
    assert feed(exchange, client, snapshot()) == "book"
    assert exchange.orderbooks[SYMBOL]["nonce"] == U0
    assert state.seq == U0
    assert feed(exchange, client, delta(U0 + 1, bids=[["16493.50", "0"]])) == "book"
    assert top(exchange) == ([16493.0, 0.1], [16611.0, 0.029])
    assert exchange.orderbooks[SYMBOL]["nonce"] == U0 + 1
    assert state.updates == 2
    assert state.resyncs == 0


def test_a_gap_is_never_applied_and_wakes_the_stream_to_resync(venue: Any) -> None:
    exchange, client, state = venue
    feed(exchange, client, snapshot())
    # ccxt alone would apply this delta: it deletes the best bid after a missing update.
    assert feed(exchange, client, delta(U0 + 2, bids=[["16493.50", "0"]])) == "wake"
    assert state.pending is not None
    assert "gap" in state.pending
    assert state.resyncs == 1
    assert not state.valid
    assert state.seq is None
    assert exchange.orderbooks[SYMBOL]["nonce"] is None
    # Deltas after the gap are ignored until a snapshot comes with the resubscription.
    assert feed(exchange, client, delta(U0 + 3, asks=[["16611.00", "0"]])) == "nothing"
    assert feed(exchange, client, snapshot(U0 + 10)) == "book"
    assert top(exchange) == ([16493.5, 0.006], [16611.0, 0.029])
    assert state.seq == U0 + 10


def test_a_delta_before_any_snapshot_is_dropped(venue: Any) -> None:
    exchange, client, state = venue
    assert feed(exchange, client, delta(U0 + 1, bids=[["16493.50", "0.5"]])) == "nothing"
    assert SYMBOL not in exchange.orderbooks or not exchange.orderbooks[SYMBOL]["bids"]
    assert state.updates == 0


def test_an_old_delta_is_dropped_and_a_restart_snapshot_resets_the_book(venue: Any) -> None:
    exchange, client, state = venue
    feed(exchange, client, snapshot())
    feed(exchange, client, delta(U0 + 1, bids=[["16493.50", "0"]]))
    assert feed(exchange, client, delta(U0, bids=[["16400.00", "1"]])) == "nothing"
    assert top(exchange)[0] == [16493.0, 0.1]
    # "u == 1 means a snapshot after a service restart": it replaces the book.
    assert feed(exchange, client, snapshot(1)) == "book"
    assert state.seq == 1
    assert state.resyncs == 0
    assert top(exchange) == ([16493.5, 0.006], [16611.0, 0.029])
    assert feed(exchange, client, delta(2, asks=[["16611.00", "0"]])) == "book"
    assert top(exchange)[1] == [16612.0, 0.213]


def test_a_snapshot_without_a_readable_u_is_refused(venue: Any) -> None:
    exchange, client, state = venue
    frame = snapshot()
    frame["data"]["u"] = "x"
    assert feed(exchange, client, frame) == "wake"
    assert state.resyncs == 1
    assert state.seq is None


def test_ws_limit_picks_a_spot_depth_bybit_serves() -> None:
    assert bybit.PROFILE.books is not None
    limit = bybit.PROFILE.books.ws_limit
    assert [limit(d) for d in (10, 50, 51, 200, 500, 5000)] == [None, None, 200, 200, 1000, 1000]


def test_a_lookup_by_client_id_sends_no_order_id() -> None:
    exchange = ccxt.pro.bybit({"apiKey": "k", "secret": "s"})
    bybit.omit_unset_params(exchange)
    params = {"symbol": "BTCUSDT", "orderId": None, "category": "spot", "orderLinkId": "arb1"}
    signed = exchange.sign("v5/order/realtime", ["private"], "GET", params)
    assert signed["url"].endswith("?symbol=BTCUSDT&category=spot&orderLinkId=arb1")
