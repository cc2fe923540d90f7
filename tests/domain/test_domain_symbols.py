"""SymbolTable built from the markets ccxt parses out of the recorded MEXC and Gate payloads."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from domain_markets import GATE_BTC, GATE_RECORDED, MEXC_RECORDED

from arb.domain.symbols import SymbolTable

RECORDED = SymbolTable(MEXC_RECORDED + GATE_RECORDED)
BOTH_ACTIVE = SymbolTable(tuple(replace(m, active=True) for m in MEXC_RECORDED) + GATE_RECORDED)


@pytest.mark.parametrize(
    ("venue", "native_id", "symbol"),
    [
        ("mexc", "BTCUSDT", "BTC/USDT"),
        ("mexc", "BROCKUSDT", "BROCK/USDT"),
        ("gateio", "BTC_USDT", "BTC/USDT"),
        ("gateio", "ETH_USDT", "ETH/USDT"),
    ],
)
def test_native_ids_and_unified_symbols_map_both_ways(
    venue: str, native_id: str, symbol: str
) -> None:
    assert RECORDED.get_symbol(venue, native_id) == symbol
    assert RECORDED.get_native_id(venue, symbol) == native_id


def test_market_lookup_returns_the_venues_own_facts() -> None:
    market = RECORDED.get_market("gateio", "BTC/USDT")

    assert market is GATE_BTC
    mexc = RECORDED.get_market("mexc", "XRP/USDT")
    assert mexc is not None
    assert (mexc.native_id, mexc.amount_step, mexc.taker_fee) == ("XRPUSDT", Decimal("0.01"), 0)


@pytest.mark.parametrize(
    ("venue", "key"),
    [
        ("mexc", "BTC_USDT"),  # Gate's id spelling on MEXC
        ("gateio", "BTCUSDT"),
        ("gateio", "BROCKUSDT"),  # listed on MEXC only
        ("binance", "BTCUSDT"),  # a venue the table does not know
        ("mexc", ""),
    ],
)
def test_unknown_ids_and_venues_give_none(venue: str, key: str) -> None:
    assert RECORDED.get_symbol(venue, key) is None
    assert RECORDED.get_native_id(venue, key) is None
    assert RECORDED.get_market(venue, key) is None


def test_unknown_unified_symbols_give_none() -> None:
    assert RECORDED.get_native_id("gateio", "BROCK/USDT") is None
    assert RECORDED.get_market("mexc", "ETH/USDT") is None
    assert RECORDED.get_market("mexc", "btc/usdt") is None  # symbols are exact keys


def test_common_symbols_need_an_active_market_on_every_venue() -> None:
    # The recorded MEXC BTC, LTC, ADA and XRP markets are not spot-tradable (active=False).
    assert RECORDED.common_symbols(["mexc", "gateio"]) == ()
    assert BOTH_ACTIVE.common_symbols(["mexc", "gateio"]) == (
        "ADA/USDT",
        "BTC/USDT",
        "LTC/USDT",
        "XRP/USDT",
    )


def test_common_symbols_of_one_venue_are_its_active_ones() -> None:
    assert RECORDED.common_symbols(["mexc"]) == ("BROCK/USDT",)
    assert RECORDED.common_symbols(["gateio"]) == (
        "ADA/USDT",
        "BTC/USDT",
        "ETH/USDT",
        "LTC/USDT",
        "XRP/USDT",
    )


def test_common_symbols_of_no_venue_or_an_unknown_one_are_empty() -> None:
    assert RECORDED.common_symbols([]) == ()
    assert RECORDED.common_symbols(["mexc", "binance"]) == ()


def test_single_venue_symbols_report_what_only_one_venue_lists() -> None:
    # Listing counts here, tradable or not: MEXC's inactive BTC still pairs with Gate's.
    assert RECORDED.single_venue_symbols() == {
        "gateio": ("ETH/USDT",),
        "mexc": ("BROCK/USDT",),
    }
    assert RECORDED.single_venue_symbols(["gateio"]) == {
        "gateio": ("ADA/USDT", "BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT")
    }
    assert RECORDED.single_venue_symbols(["mexc", "binance"])["binance"] == ()


def test_venues_are_listed_sorted() -> None:
    assert RECORDED.venues == ("gateio", "mexc")


def test_the_same_market_twice_is_harmless() -> None:
    table = SymbolTable([GATE_BTC, GATE_BTC])

    assert table.get_symbol("gateio", "BTC_USDT") == "BTC/USDT"


def test_a_symbol_listed_twice_differently_is_refused() -> None:
    with pytest.raises(ValueError, match="BTC/USDT listed twice"):
        SymbolTable([GATE_BTC, replace(GATE_BTC, taker_fee=GATE_BTC.taker_fee / 2)])


def test_a_native_id_naming_two_symbols_is_refused() -> None:
    with pytest.raises(ValueError, match="native id BTC_USDT names two symbols"):
        SymbolTable([GATE_BTC, replace(GATE_BTC, symbol="XBT/USDT")])


def test_per_venue_maps_answer_like_the_lookups() -> None:
    from decimal import Decimal as D  # noqa: PLC0415

    from arb.domain.symbols import MarketInfo, SymbolTable  # noqa: PLC0415

    btc = MarketInfo(
        "mexc",
        "BTC/USDT",
        "BTCUSDT",
        "BTC",
        "USDT",
        D("0.000001"),
        D("0.01"),
        D("0.000001"),
        D("1"),
        D("0.0005"),
        True,
    )
    table = SymbolTable([btc])
    assert table.symbols_of("mexc")["BTCUSDT"] == table.get_symbol("mexc", "BTCUSDT")
    assert table.markets_of("mexc")["BTC/USDT"] is table.get_market("mexc", "BTC/USDT")
    assert dict(table.symbols_of("kraken")) == {}
    assert dict(table.markets_of("kraken")) == {}
