"""Symbol selection: tradable on two chosen venues, and every left-out symbol explained."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arb.domain.symbols import MarketInfo, Selection, SymbolTable, select_symbols
from arb.errors import ConfigError
from arb.scan.engine import check_symbols


def info(venue: str, symbol: str, *, active: bool = True) -> MarketInfo:
    base, quote = symbol.split("/")
    native = f"{base}_{quote}" if venue == "gateio" else f"{base}{quote}"
    return MarketInfo(
        venue=venue,
        symbol=symbol,
        native_id=native,
        base=base,
        quote=quote,
        amount_step=Decimal("0.0001"),
        price_step=Decimal("0.01"),
        min_amount=Decimal(0),
        min_notional=Decimal(1),
        taker_fee=Decimal("0.001"),
        active=active,
    )


TABLE = SymbolTable(
    [
        info("mexc", "BTC/USDT"),
        info("gateio", "BTC/USDT"),
        info("mexc", "ETH/USDT"),
        info("gateio", "ETH/USDT", active=False),
        info("mexc", "MX/USDT"),
        info("gateio", "GT/USDT"),
        info("mexc", "ETH/BTC"),
        info("gateio", "ETH/BTC"),
    ]
)


def test_named_symbols_keep_only_those_on_two_venues_and_say_why() -> None:
    picked = select_symbols(
        TABLE, ("mexc", "gateio"), ("BTC/USDT", "ETH/USDT", "DOGE/USDT"), ("USDT",)
    )
    assert picked.symbols == ("BTC/USDT",)
    assert picked.notes == (
        "ETH/USDT: active only on mexc; skipped",
        "DOGE/USDT: not active on any chosen venue; skipped",
    )


def test_all_takes_every_common_active_pair_in_the_quote_currencies() -> None:
    picked = select_symbols(TABLE, ("mexc", "gateio"), ("all",), ("USDT",))
    assert picked.symbols == ("BTC/USDT",)
    assert picked.notes == (
        "1 symbol is listed only on mexc",
        "1 symbol is listed only on gateio",
    )
    both_quotes = select_symbols(TABLE, ("mexc", "gateio"), ("all",), ("USDT", "BTC"))
    assert both_quotes.symbols == ("BTC/USDT", "ETH/BTC")


def test_with_a_venue_still_down_named_symbols_on_one_venue_wait_for_it() -> None:
    picked = select_symbols(TABLE, ("mexc",), ("BTC/USDT", "GT/USDT"), ("USDT",), ("gateio",))
    assert picked.symbols == ("BTC/USDT",)  # streamed on MEXC now, compared once Gate answers
    assert picked.notes == (
        "BTC/USDT: active only on mexc so far; waiting for gateio",
        "GT/USDT: not active on any chosen venue; skipped",
    )


def test_with_a_venue_still_down_all_waits_for_two_answered_venues() -> None:
    assert select_symbols(TABLE, ("mexc",), ("all",), ("USDT",), ("gateio",)).symbols == ()
    check_symbols(Selection((), ()), ("all",), ("mexc",), ("gateio",))  # no error: it waits
    with pytest.raises(ConfigError, match="BTC/USDT"):
        check_symbols(Selection((), ()), ("BTC/USDT",), ("mexc",), ("gateio",))
