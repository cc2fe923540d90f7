"""Write the REST cassettes under cassettes/: from the real sample payloads, or live.

    .venv/bin/python scripts/record_cassettes.py --from-samples ../shared/exchange-samples
    ARB_EXCHANGES__MEXC__API_KEY=... ARB_EXCHANGES__MEXC__API_SECRET=... \\
        .venv/bin/python scripts/record_cassettes.py --live mexc [--orders]

`--from-samples` writes every cassette from the recorded payloads in the samples folder
(and tests/data/cancel_order_samples.json): the response bodies are those payloads,
byte for byte as JSON, the requests are what ccxt 4.5.90 sends. `--live` re-records the
read families from the venue with the keys from the environment (through arb's own
settings); `--orders` also places a far-from-market order, fetches and cancels it.
Credentials, timestamps and signatures are never written (see tests/venues/venue_vcr.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "venues"))

import venue_vcr  # noqa: E402

from arb.config import load_settings  # noqa: E402
from arb.venues import Venue, new_client_order_id  # noqa: E402

MEXC = "https://api.mexc.com"
GATE = "https://api.gateio.ws"
CANCEL_SAMPLES = ROOT / "tests" / "data" / "cancel_order_samples.json"
CANCEL = "cancel_order_samples"

# The client order ids the cassette tests send. Gate's is the `text` of its documented
# order sample ("t-abc123"), so the recorded answer names the id the request sent.
MEXC_CLIENT_ID = "arbcassette1"
GATE_CLIENT_ID = "abc123"

# The JSON body ccxt 4.5.90 sends for the Gate cassette order (a limit IOC buy of 0.001
# BTC at 65000, the documented sample order): the cassette test fails if it changes.
REQUEST_BODIES = {
    ("POST", f"{GATE}/api/v4/spot/orders"): json.dumps(
        {
            "currency_pair": "BTC_USDT",
            "type": "limit",
            "account": "spot",
            "side": "buy",
            "amount": "0.001",
            "price": "65000",
            "time_in_force": "ioc",
            "text": f"t-{GATE_CLIENT_ID}",
        },
        separators=(",", ":"),
    )
}

# (method, url, sample file, where in it) per interaction; "payload" or ("variants", i).
_MEXC_MARKETS = [("GET", f"{MEXC}/api/v3/exchangeInfo", "mexc/exchangeInfo.json", "payload")]
_GATE_MARKETS = [
    ("GET", f"{GATE}/api/v4/margin/currency_pairs", "gate/margin_currency_pairs.json", "payload"),
    ("GET", f"{GATE}/api/v4/spot/currency_pairs", "gate/spot_currency_pairs.json", "payload"),
]
SPEC: dict[str, dict[str, list[tuple[str, str, str, Any]]]] = {
    "mexc": {
        "load_markets": _MEXC_MARKETS,
        "order_book": [
            *_MEXC_MARKETS,
            ("GET", f"{MEXC}/api/v3/depth?symbol=BTCUSDT&limit=5", "mexc/depth.json", "payload"),
        ],
        "balance": [
            *_MEXC_MARKETS,
            ("GET", f"{MEXC}/api/v3/account", "mexc/account.json", "payload"),
        ],
        "trading_fee": [
            *_MEXC_MARKETS,
            ("GET", f"{MEXC}/api/v3/tradeFee?symbol=BTCUSDT", "mexc/tradeFee.json", "payload"),
        ],
        "create_order": [
            *_MEXC_MARKETS,
            (
                "POST",
                f"{MEXC}/api/v3/order?symbol=ADAUSDT&side=BUY&type=IMMEDIATE_OR_CANCEL"
                f"&quantity=0.5&price=2&newClientOrderId={MEXC_CLIENT_ID}",
                "mexc/order_post.json",
                ("variants", 0),
            ),
        ],
        "fetch_order": [
            *_MEXC_MARKETS,
            (
                "GET",
                f"{MEXC}/api/v3/order?symbol=BTCUSDT&orderId=133734823834147272",
                "mexc/order_get.json",
                "payload",
            ),
            (
                "GET",
                f"{MEXC}/api/v3/order?symbol=BTCUSDT&origClientOrderId={MEXC_CLIENT_ID}",
                "mexc/order_get.json",
                "payload",
            ),
        ],
        "cancel_order": [
            *_MEXC_MARKETS,
            (
                "DELETE",
                f"{MEXC}/api/v3/order?symbol=BTCUSDT&orderId=133734823834447872",
                CANCEL,
                "mexc",
            ),
        ],
    },
    "gateio": {
        "load_markets": _GATE_MARKETS,
        "order_book": [
            *_GATE_MARKETS,
            (
                "GET",
                f"{GATE}/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=5&with_id=true",
                "gate/order_book.json",
                "payload",
            ),
        ],
        "balance": [
            *_GATE_MARKETS,
            ("GET", f"{GATE}/api/v4/spot/accounts", "gate/spot_accounts.json", "payload"),
        ],
        "trading_fee": [
            *_GATE_MARKETS,
            (
                "GET",
                f"{GATE}/api/v4/wallet/fee?currency_pair=BTC_USDT",
                "gate/wallet_fee.json",
                "payload",
            ),
        ],
        "create_order": [
            *_GATE_MARKETS,
            ("POST", f"{GATE}/api/v4/spot/orders", "gate/spot_orders_post.json", "payload"),
        ],
        "fetch_order": [
            *_GATE_MARKETS,
            (
                "GET",
                f"{GATE}/api/v4/spot/orders/1852454420?account=spot&currency_pair=BTC_USDT",
                "gate/spot_order_get.json",
                "payload",
            ),
            (
                "GET",
                f"{GATE}/api/v4/spot/orders/t-{GATE_CLIENT_ID}?account=spot&currency_pair=BTC_USDT",
                "gate/spot_order_get.json",
                "payload",
            ),
        ],
        "cancel_order": [
            *_GATE_MARKETS,
            (
                "DELETE",
                f"{GATE}/api/v4/spot/orders/95282841887?account=spot&currency_pair=ETH_USDT",
                CANCEL,
                "gateio",
            ),
        ],
    },
}


# `arb symbols` loads both venues at once: one cassette with both venues' market requests.
COMBINED = {"symbols": [*_MEXC_MARKETS, *_GATE_MARKETS]}


def _payload(samples: Path, name: str, where: Any) -> tuple[Any, str]:
    if name == CANCEL:
        entry = json.loads(CANCEL_SAMPLES.read_text())[where]
        return entry["payload"], str(entry["source"])
    doc = json.loads((samples / name).read_text())
    if where == "payload":
        return doc["payload"], json.dumps(doc["source"])
    variant = doc[where[0]][where[1]]
    return variant["payload"], str(variant["source"])


def _interaction(method: str, url: str, body: str) -> dict[str, Any]:
    sent = REQUEST_BODIES.get((method, url))
    return {
        "request": {"method": method, "uri": url, "body": sent, "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": ["application/json"]},
            "body": {"string": body},
        },
    }


def from_samples(samples: Path) -> None:
    """Write every cassette from the sample payloads and print where each body came from."""
    cassettes = {
        f"{venue}/{family}": steps
        for venue, families in SPEC.items()
        for family, steps in families.items()
    }
    cassettes.update(COMBINED)
    for name, steps in cassettes.items():
        interactions = []
        for method, url, sample, where in steps:
            payload, source = _payload(samples, sample, where)
            interactions.append(_interaction(method, url, json.dumps(payload)))
            print(f"| {name}.yaml | {method} {url} | {sample} {where} | {source} |")
        path = venue_vcr.CASSETTES / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))


async def live(venue_id: str, orders: bool) -> None:
    """Re-record one venue's cassettes from the live API (keys from the environment)."""
    settings = load_settings().venue(venue_id)
    recorder = venue_vcr.make_vcr(record_mode="all")
    symbol = "BTC/USDT"

    async def record(family: str, steps: Any) -> None:
        with recorder.use_cassette(f"{venue_id}/{family}.yaml"):
            async with Venue(settings) as venue:
                await venue.load_markets()
                await steps(venue)

    async def nothing(venue: Venue) -> None:
        return None

    async def book(venue: Venue) -> None:
        await venue.fetch_order_book(symbol, 5)

    async def balance(venue: Venue) -> None:
        await venue.fetch_balance()

    async def fee(venue: Venue) -> None:
        await venue.fetch_trading_fee(symbol)

    await record("load_markets", nothing)
    await record("order_book", book)
    await record("balance", balance)
    await record("trading_fee", fee)
    if not orders:
        return
    async with Venue(settings) as venue:
        await venue.load_markets()
        snapshot = await venue.fetch_order_book(symbol, 5)
    # Half the best bid: an IOC buy there never fills, so recording costs nothing.
    far = Decimal(str(snapshot.bids[0][0])) / 2
    market = None
    client_id = new_client_order_id()

    async def create(venue: Venue) -> None:
        nonlocal market
        market = venue.market(symbol)
        amount = max(market.min_amount, market.min_notional / far * Decimal("1.1"))
        await venue.create_order(symbol, "buy", amount, far, client_id)

    async def fetch(venue: Venue) -> None:
        await venue.fetch_order(symbol, client_order_id=client_id)

    await record("create_order", create)
    await record("fetch_order", fetch)
    print("cancel_order is not re-recorded live: an IOC order is never open to cancel.")


def main() -> int:
    """Parse arguments and write the cassettes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-samples", type=Path, help="exchange-samples folder")
    parser.add_argument("--live", choices=("mexc", "gateio"), help="venue to re-record")
    parser.add_argument("--orders", action="store_true", help="also record order families")
    args = parser.parse_args()
    if args.from_samples:
        from_samples(args.from_samples)
    elif args.live:
        asyncio.run(live(args.live, args.orders))
    else:
        parser.error("give --from-samples DIR or --live VENUE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
