"""The reference: a plain scanner on stock ccxt.pro, written as a user would write it.

`python -m bench.reference_scanner MEXC_REST MEXC_WS GATE_REST GATE_WS SYMBOL...` watches
each symbol's book on MEXC and Gate with `watch_order_book`, walks both books' depth in
Decimal after taker fees on every update, and prints an opportunity as one JSON line
(flushed) when it appears or changes. No integrity checks, no ledger, no freshness rules:
the floor that bench/reference.py compares `arb scan --json` against.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro

MAX_NOTIONAL = Decimal(100)  # arb's default trading.max_notional
MIN_PROFIT = Decimal("0.5")  # arb's default trading.min_profit
DEPTH = 20  # arb's default market_data.depth


def pointed(exchange: Any, rest: str, ws: str) -> Any:
    """Send every REST and WebSocket URL of `exchange` to the given hosts, paths kept."""

    def move(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, str) and "://" in value:
            scheme, rest_of = value.split("://", 1)
            path = rest_of[rest_of.find("/") :] if "/" in rest_of else ""
            return (ws if scheme.startswith("ws") else rest) + path
        return value

    exchange.urls["api"] = move(exchange.urls["api"])
    return exchange


def walk(asks: Any, bids: Any, buy_fee: Decimal, sell_fee: Decimal) -> tuple[Decimal, Decimal]:
    """Buy up the asks and sell down the bids while it pays after fees: (amount, net)."""
    amount = cost = proceeds = Decimal(0)
    i = j = 0
    ask_left = bid_left = None
    while i < min(len(asks), DEPTH) and j < min(len(bids), DEPTH):
        ask, bid = Decimal(str(asks[i][0])), Decimal(str(bids[j][0]))
        if ask * (1 + buy_fee) >= bid * (1 - sell_fee):
            break
        ask_left = Decimal(str(asks[i][1])) if ask_left is None else ask_left
        bid_left = Decimal(str(bids[j][1])) if bid_left is None else bid_left
        take = min(ask_left, bid_left, (MAX_NOTIONAL - cost) / ask)
        if take <= 0:
            break
        amount += take
        cost += take * ask
        proceeds += take * bid
        ask_left -= take
        bid_left -= take
        if ask_left <= 0:
            i, ask_left = i + 1, None
        if bid_left <= 0:
            j, bid_left = j + 1, None
    return amount, proceeds * (1 - sell_fee) - cost * (1 + buy_fee)


async def main(urls: list[str], symbols: list[str]) -> None:
    """Watch every book and print each opportunity that appears or changes."""
    exchanges = {
        "mexc": pointed(ccxtpro.mexc(), urls[0], urls[1]),
        "gateio": pointed(
            ccxtpro.gate({"options": {"fetchMarkets": {"types": ["spot"]}}}), urls[2], urls[3]
        ),
    }
    books: dict[tuple[str, str], Any] = {}
    printed: dict[tuple[str, str, str], tuple[Decimal, Decimal]] = {}
    try:
        await asyncio.gather(*(e.load_markets() for e in exchanges.values()))

        def evaluate(symbol: str) -> None:
            for buy in exchanges:
                for sell in exchanges:
                    if buy == sell or (buy, symbol) not in books or (sell, symbol) not in books:
                        continue
                    fees = (
                        Decimal(str(exchanges[buy].markets[symbol]["taker"])),
                        Decimal(str(exchanges[sell].markets[symbol]["taker"])),
                    )
                    asks, bids = books[(buy, symbol)]["asks"], books[(sell, symbol)]["bids"]
                    amount, net = walk(asks, bids, *fees)
                    key = (symbol, buy, sell)
                    if net < MIN_PROFIT:
                        printed.pop(key, None)
                        continue
                    if printed.get(key) == (amount, net):
                        continue
                    printed[key] = (amount, net)
                    line = {
                        "symbol": symbol,
                        "buy_exchange": buy,
                        "sell_exchange": sell,
                        "amount": str(amount),
                        "net_profit": str(net),
                    }
                    sys.stdout.write(json.dumps(line) + "\n")
                    sys.stdout.flush()

        async def watch(venue: str, symbol: str) -> None:
            while True:
                books[(venue, symbol)] = await exchanges[venue].watch_order_book(symbol)
                evaluate(symbol)

        await asyncio.gather(*(watch(v, s) for v in exchanges for s in symbols))
    finally:
        await asyncio.gather(*(e.close() for e in exchanges.values()))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:5], sys.argv[5:]))
