"""A many-symbol simulator scenario built from the shipped default scenario's real market specs.

The venues' recorded samples list only a handful of markets, so a 300-symbol world repeats
the default scenario's four markets (precision, limits and fees from each venue's real
listing: MEXC exchangeInfo, Gate currency_pairs, Binance exchangeInfo, OKX instruments,
Bybit instruments-info) under numbered names: `BTC07/USDT` is BTC/USDT's listing and random
walk, copy 7. Names are the only thing changed. Most benchmarks measure MEXC against Gate
(`PAIR`); the scale rows pass every simulated venue.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from typing import Any

from arb.domain.symbols import MarketInfo
from arb.sim import Scenario, parse_scenario
from arb.sim.protocols import protocols

# The two-venue benchmarks (and their figures in the README) measure MEXC against Gate.
PAIR = ("mexc", "gateio")


def default_data(venues: tuple[str, ...] = PAIR) -> dict[str, Any]:
    """The shipped default scenario as parsed TOML, cut to `venues`."""
    text = resources.files("arb.sim").joinpath("scenarios/default.toml").read_text("utf-8")
    data = tomllib.loads(text)
    for table in (data.get("venues", {}), data.get("balances", {}), *data["markets"]):
        for venue in [v for v in table if v not in venues and v != "symbol"]:
            del table[venue]
    return data


def scenario_data(
    symbols: int, levels: int | None = None, venues: tuple[str, ...] = PAIR
) -> dict[str, Any]:
    """The default scenario with `symbols` markets (copies of its own) on `venues`, as TOML.

    `levels` overrides every walked book's depth per side; None keeps the default's.
    """
    data = default_data(venues)
    markets = data["markets"]
    walked = data["walk"]["symbols"]
    new_markets: list[dict[str, Any]] = []
    new_walk: dict[str, Any] = {}
    for index in range(symbols):
        source = markets[index % len(markets)]
        base, quote = str(source["symbol"]).split("/")
        name = f"{base}{index // len(markets):02d}/{quote}" if symbols > len(markets) else None
        entry = copy.deepcopy(source)
        symbol = name or str(source["symbol"])
        entry["symbol"] = symbol
        new_markets.append(entry)
        walk = copy.deepcopy(walked[source["symbol"]])
        if levels is not None:
            walk["levels"] = levels
        new_walk[symbol] = walk
    data["markets"] = new_markets
    data["walk"]["symbols"] = new_walk
    return data


def scenario(symbols: int, levels: int | None = None, venues: tuple[str, ...] = PAIR) -> Scenario:
    """The many-symbol scenario on `venues`, parsed."""
    return parse_scenario(scenario_data(symbols, levels, venues), name=f"bench-{symbols}")


def market_infos(world: Scenario) -> list[MarketInfo]:
    """The scenario's markets as arb's MarketInfo values (what Venue.load_markets yields).

    Native ids come from each venue's simulator protocol, which serves them.
    """
    native = {venue: protocol.native_id for venue, protocol in protocols().items()}
    return [
        MarketInfo(
            venue=spec.venue,
            symbol=spec.symbol,
            native_id=native[spec.venue](spec.symbol),
            base=spec.base,
            quote=spec.quote,
            amount_step=spec.amount_step,
            price_step=spec.price_step,
            min_amount=spec.min_amount,
            min_notional=spec.min_notional,
            taker_fee=spec.taker_fee,
            active=True,
        )
        for spec in world.markets
    ]
