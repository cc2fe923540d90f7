"""`arb symbols` over both venues, replayed from one cassette of both venues' markets."""

from __future__ import annotations

import io
import json

from rich.console import Console
from venue_vcr import make_vcr

from arb.config import Settings
from arb.venues.symbols_cmd import run_symbols


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, color_system=None), buffer


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


async def test_json_lists_the_symbols_both_venues_list_with_exact_facts() -> None:
    out, buffer = console()
    with make_vcr().use_cassette("symbols.yaml") as tape:
        code = await run_symbols(Settings(), ["mexc", "gate"], [], True, console=out)
    assert tape.all_played
    assert code == 0
    rows = {row["symbol"]: row["venues"] for row in json.loads(buffer.getvalue())}
    # BROCK is MEXC-only and ETH Gate-only: neither is common.
    assert sorted(rows) == ["ADA/USDT", "BTC/USDT", "LTC/USDT", "XRP/USDT"]
    assert rows["BTC/USDT"]["mexc"] == {
        "native_id": "BTCUSDT",
        "price_step": "0.01",
        "amount_step": "0.000001",
        "min_amount": "0.000001",
        "min_notional": "1",
        "taker_fee": "0.0002",
        "active": False,
    }
    assert rows["BTC/USDT"]["gateio"] == {
        "native_id": "BTC_USDT",
        "price_step": "0.1",
        "amount_step": "0.000001",
        "min_amount": "0.000001",
        "min_notional": "3",
        "taker_fee": "0.002",
        "active": True,
    }


async def test_asked_symbols_show_where_they_are_missing() -> None:
    out, buffer = console()
    with make_vcr().use_cassette("symbols.yaml"):
        code = await run_symbols(
            Settings(), ["mexc", "gateio"], ["eth/usdt", "BROCK/USDT"], True, console=out
        )
    assert code == 0
    rows = {row["symbol"]: row["venues"] for row in json.loads(buffer.getvalue())}
    assert rows["ETH/USDT"]["mexc"] is None
    assert rows["ETH/USDT"]["gateio"]["native_id"] == "ETH_USDT"
    assert rows["BROCK/USDT"]["gateio"] is None
    assert rows["BROCK/USDT"]["mexc"]["active"] is True


async def test_a_symbol_listed_nowhere_exits_1() -> None:
    out, buffer = console()
    with make_vcr().use_cassette("symbols.yaml"):
        code = await run_symbols(Settings(), ["mexc", "gateio"], ["DOGE/USDT"], False, console=out)
    assert code == 1
    assert "listed on none of mexc, gateio: DOGE/USDT" in buffer.getvalue()


async def test_the_rich_table_names_each_venue_market() -> None:
    out, buffer = console()
    with make_vcr().use_cassette("symbols.yaml"):
        code = await run_symbols(Settings(), ["mexc", "gateio"], ["BTC/USDT"], False, console=out)
    assert code == 0
    text = buffer.getvalue()
    mexc_line = next(line for line in text.splitlines() if "BTCUSDT" in line)
    gate_line = next(line for line in text.splitlines() if "BTC_USDT" in line)
    assert "BTC/USDT" in mexc_line
    assert cells(mexc_line) == [
        "BTC/USDT",
        "mexc",
        "BTCUSDT",
        "0.01",
        "0.000001",
        "0.000001",
        "1",
        "0.0002",
        "no",
    ]
    assert cells(gate_line) == [
        "",
        "gateio",
        "BTC_USDT",
        "0.1",
        "0.000001",
        "0.000001",
        "3",
        "0.002",
        "yes",
    ]
