"""The execution reference: a naive two-leg executor on stock ccxt.pro, as a user would write it.

Fresh balances from both venues with `asyncio.gather`, a plain sizing, an intent row
committed to SQLite (WAL, `synchronous=NORMAL`) before the legs, then both IOC legs with
`asyncio.gather`. No risk guard, no settling, no reconciliation: the floor bench/execution.py
compares arb's executor against. The rate limiter is off, as a latency-minded user sets it
(arb replaces ccxt's with its own too).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro

from bench.reference_scanner import pointed


class NaiveExecutor:
    """Trades one opportunity at a time on stock ccxt.pro instances."""

    def __init__(self, exchanges: dict[str, Any], db: Path) -> None:
        self.exchanges = exchanges
        self.db = sqlite3.connect(db, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS intents (at REAL, body TEXT)")

    async def execute(
        self, symbol: str, buy: str, sell: str, amount: Decimal, buy_at: Decimal, sell_at: Decimal
    ) -> list[Any]:
        """Check balances, size, write the intent, send both legs; the two order answers."""
        base, quote = symbol.split("/")
        buy_ex, sell_ex = self.exchanges[buy], self.exchanges[sell]
        buy_balance, sell_balance = await asyncio.gather(
            buy_ex.fetch_balance(), sell_ex.fetch_balance()
        )
        affordable = Decimal(str(buy_balance["free"].get(quote) or 0)) / buy_at
        held = Decimal(str(sell_balance["free"].get(base) or 0))
        size = min(amount, affordable, held).quantize(Decimal("0.000001"), ROUND_DOWN)
        qty = buy_ex.amount_to_precision(symbol, str(size))
        intent = {"symbol": symbol, "buy": buy, "sell": sell, "amount": qty}
        with self.db:
            self.db.execute("INSERT INTO intents VALUES (?, ?)", (time.time(), json.dumps(intent)))
        ioc = {"timeInForce": "IOC"}
        return list(
            await asyncio.gather(
                buy_ex.create_order(symbol, "limit", "buy", float(qty), float(buy_at), ioc),
                sell_ex.create_order(symbol, "limit", "sell", float(qty), float(sell_at), ioc),
            )
        )

    async def close(self) -> None:
        """Close the venues and the database."""
        await asyncio.gather(*(e.close() for e in self.exchanges.values()))
        self.db.close()


def exchanges(urls: dict[str, tuple[str, str]], key: str, secret: str) -> dict[str, Any]:
    """Stock ccxt.pro MEXC and Gate instances pointed at `urls[venue] = (rest, ws)`."""
    common = {"apiKey": key, "secret": secret, "enableRateLimit": False}
    return {
        "mexc": pointed(ccxtpro.mexc(common), *urls["mexc"]),
        "gateio": pointed(
            ccxtpro.gate(
                {
                    **common,
                    "options": {"fetchMarkets": {"types": ["spot"]}, "unifiedAccount": False},
                }
            ),
            *urls["gateio"],
        ),
    }
