"""Helpers for the simulator tests: the test scenario, sample payloads, ccxt URL overrides."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.sim import Simulator

DATA = Path(__file__).resolve().parents[1] / "data" / "sim"
KEY, SECRET = "test-key", "test-secret"


def sample(venue: str, name: str) -> Any:
    """One real payload file from tests/data/sim (with its source note)."""
    return json.loads((DATA / venue / f"{name}.json").read_text("utf-8"))


def scenario_data() -> dict[str, Any]:
    """A small scenario: two markets, sample-sized books, 5 ms pushes."""
    # book levels around the real BTCUSDT depth sample (45995.47 / 45995.48)
    btc_bids = [["45995.47", "0.5"], ["45995.00", "0.8"], ["45990.00", "1.2"]]
    btc_asks = [["45995.48", "0.4"], ["45996.00", "0.6"], ["46000.00", "1.5"]]
    eth_bids = [["3500.10", "2"], ["3500.00", "3"]]
    eth_asks = [["3500.20", "2"], ["3500.30", "3"]]
    books = []
    for venue in ("mexc", "gateio"):
        books.append({"venue": venue, "symbol": "BTC/USDT", "bids": btc_bids, "asks": btc_asks})
        books.append({"venue": venue, "symbol": "ETH/USDT", "bids": eth_bids, "asks": eth_asks})
    return {
        "name": "test",
        "sandbox": {"api_key": KEY, "api_secret": SECRET},
        "venues": {
            "mexc": {"cadence_ms": 5, "taker_fee": "0.0005", "maker_fee": "0"},
            "gateio": {"cadence_ms": 5, "taker_fee": "0.002", "maker_fee": "0.002"},
        },
        "markets": [
            {
                "symbol": "BTC/USDT",
                "mexc": {
                    "price_decimals": 2,
                    "amount_decimals": 6,
                    "min_amount": "0.000001",
                    "min_notional": "1",
                },
                "gateio": {
                    "price_decimals": 2,
                    "amount_decimals": 6,
                    "min_amount": "0.000001",
                    "min_notional": "3",
                },
            },
            {
                "symbol": "ETH/USDT",
                "mexc": {
                    "price_decimals": 2,
                    "amount_decimals": 5,
                    "min_amount": "0.00001",
                    "min_notional": "1",
                },
                "gateio": {
                    "price_decimals": 2,
                    "amount_decimals": 4,
                    "min_amount": "0.001",
                    "min_notional": "3",
                },
            },
        ],
        "balances": {
            "mexc": {"USDT": "100000", "BTC": "2", "ETH": "10"},
            "gateio": {"USDT": "100000", "BTC": "2", "ETH": "10"},
        },
        "books": books,
    }


def point_mexc(exchange: Any, sim: Simulator) -> None:
    """Point a ccxt mexc instance at the simulator (overrides from the samples README)."""
    rest, ws = sim.rest_url("mexc"), sim.ws_url("mexc")
    exchange.urls["api"]["spot"] = {"public": rest, "private": rest}
    exchange.urls["api"]["contract"] = {
        "public": rest + "/api/v1/contract",
        "private": rest + "/api/v1/private",
    }
    exchange.urls["api"]["spot2"] = {
        "public": rest + "/open/api/v2",
        "private": rest + "/open/api/v2",
    }
    exchange.urls["api"]["broker"] = {"private": rest + "/api/v3/broker"}
    exchange.urls["api"]["ws"] = {"spot": ws + "/ws", "swap": ws + "/edge"}


def point_gate(exchange: Any, sim: Simulator) -> None:
    """Point a ccxt gate instance at the simulator (overrides from the samples README)."""
    rest, ws = sim.rest_url("gateio"), sim.ws_url("gateio")
    for key in exchange.urls["api"]["public"]:
        exchange.urls["api"]["public"][key] = rest + "/api/v4"
    for key in exchange.urls["api"]["private"]:
        exchange.urls["api"]["private"][key] = rest + "/api/v4"
    exchange.urls["api"]["spot"] = ws + "/ws/v4/"


async def churn(sim: Simulator, venue: str, symbol: str) -> None:
    """Move the far end of the book every 10 ms until cancelled, so the stream has deltas."""
    book = sim.book(venue, symbol)
    worst_bid = min(book.bids)
    step = 0
    while True:
        step += 1
        sim.set_level(venue, symbol, "bid", worst_bid, Decimal("0.1") * (step % 7 + 1))
        await asyncio.sleep(0.01)


def book_levels(ccxt_side: list[list[float]]) -> list[tuple[float, float]]:
    """A ccxt book side as (price, amount) float pairs."""
    return [(float(p), float(a)) for p, a, *_ in ccxt_side]


def sim_levels(levels: tuple[tuple[Decimal, Decimal], ...]) -> list[tuple[float, float]]:
    """A simulator book side as (price, amount) float pairs."""
    return [(float(p), float(a)) for p, a in levels]


Factory = Callable[..., Any]
