"""`arb symbols` over both venues: replayed from one cassette of both venues' markets, and
against the loopback simulator (`--sandbox`)."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from venue_vcr import make_vcr

from arb.cli import main
from arb.config import Settings
from arb.domain.symbols import ALL_PAIRS
from arb.scan.command import sandbox_settings
from arb.sim.scenario import load_scenario
from arb.sim.server import Simulator
from arb.venues.symbols_cmd import run_symbols

# The built-in scenario lists these four on both venues, all active.
SCENARIO_PAIRS = ["BTC/USDT", "ETH/USDT", "LTC/USDT", "XRP/USDT"]


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, color_system=None), buffer


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


async def test_json_shows_each_venues_market_with_exact_facts() -> None:
    out, buffer = console()
    with make_vcr().use_cassette("symbols.yaml") as tape:
        code = await run_symbols(Settings(), ["mexc", "gate"], ["BTC/USDT"], True, console=out)
    assert tape.all_played
    assert code == 0
    rows = {row["symbol"]: row["venues"] for row in json.loads(buffer.getvalue())}
    assert sorted(rows) == ["BTC/USDT"]
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


async def test_all_on_the_recorded_markets_finds_no_pair_active_on_both_and_exits_1() -> None:
    # Recorded: MEXC lists ADA, BTC, LTC and XRP with isSpotTradingAllowed false (inactive),
    # BROCK only on MEXC, ETH only on Gate. No USDT pair is active on both.
    out, buffer = console()
    with make_vcr().use_cassette("symbols.yaml"):
        code = await run_symbols(Settings(), ["mexc", "gateio"], ALL_PAIRS, False, console=out)
    assert code == 1
    text = buffer.getvalue()
    assert "no pair in USDT is active on two of mexc, gateio" in text
    assert "BTCUSDT" not in text
    assert "BROCKUSDT" not in text


def without(venue: str, symbol: str) -> Simulator:
    """The built-in scenario's simulator with `symbol` delisted from `venue`."""
    scenario = load_scenario()
    markets = tuple(m for m in scenario.markets if (m.venue, m.symbol) != (venue, symbol))
    return Simulator(dataclasses.replace(scenario, markets=markets, walk=None))


async def test_all_lists_exactly_the_pairs_in_quote_currencies_active_on_both_venues() -> None:
    out, buffer = console()
    async with without("gateio", "XRP/USDT") as sim:
        settings = sandbox_settings(Settings(symbols=ALL_PAIRS, exchanges=("mexc", "gateio")), sim)
        code = await run_symbols(settings, settings.exchanges, settings.symbols, True, console=out)
    assert code == 0
    rows = json.loads(buffer.getvalue())
    # XRP/USDT is left on MEXC alone: not a pair to arbitrage, so not listed.
    assert [row["symbol"] for row in rows] == ["BTC/USDT", "ETH/USDT", "LTC/USDT"]
    assert all(market["active"] for row in rows for market in row["venues"].values())


async def test_all_draws_only_from_quote_currencies() -> None:
    out, buffer = console()
    async with without("gateio", "XRP/USDT") as sim:
        settings = sandbox_settings(Settings(symbols=ALL_PAIRS, quote_currencies=("BTC",)), sim)
        code = await run_symbols(settings, settings.exchanges, settings.symbols, False, console=out)
    assert code == 1
    assert "no pair in BTC is active on two of mexc, gateio" in buffer.getvalue()


def all_via(how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The CLI arguments (and environment) that ask for `all` the way `how` says."""
    if how == "option":
        return ["--symbols", "all"]
    if how == "environment":
        monkeypatch.setenv("ARB_SYMBOLS", "all")
        return []
    settings = tmp_path / "settings.toml"
    settings.write_text('[default]\nsymbols = ["all"]\n')
    return ["--settings", str(settings)]


HOWS = ["option", "environment", "settings file"]


@pytest.mark.parametrize("how", HOWS)
def test_the_cli_lists_every_pair_of_the_sandbox_for_all(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    how: str,
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["symbols", "--sandbox", "--json", *all_via(how, monkeypatch, tmp_path)])
    out, err = capsys.readouterr()
    assert exit_.value.code == 0, err
    assert [row["symbol"] for row in json.loads(out)] == SCENARIO_PAIRS


@pytest.mark.parametrize("how", HOWS)
def test_the_cli_reads_all_from_quote_currencies(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    how: str,
) -> None:
    # Without `all` the sandbox would list the scenario's four USDT pairs and exit 0.
    monkeypatch.setenv("ARB_QUOTE_CURRENCIES", "BTC")
    with pytest.raises(SystemExit) as exit_:
        main(["symbols", "--sandbox", *all_via(how, monkeypatch, tmp_path)])
    out, err = capsys.readouterr()
    assert exit_.value.code == 1, err
    assert "no pair in BTC is active on two of mexc, gateio" in out
