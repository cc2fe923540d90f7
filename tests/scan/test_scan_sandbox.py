"""`arb scan` end to end: real ccxt.pro clients through our adapters against the simulator.

The books are planted through a scenario file; the JSON lines on stdout are checked exactly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from arb.config import load_settings
from arb.ledger import Ledger
from arb.scan.command import ScanOptions, scan

# Precision and limits follow the venues' real listings of BTC_USDT (Gate: amount_precision 6,
# precision 1, min_quote_amount 3; MEXC: baseSizePrecision 0.000001, quotePrecision 2).
SCENARIO = """
name = "planted"
[sandbox]
api_key = "sim-key"
api_secret = "sim-secret"
[venues.mexc]
cadence_ms = 10
taker_fee = "0.0005"
[venues.gateio]
cadence_ms = 10
taker_fee = "0.002"

[[markets]]
symbol = "BTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 6, min_amount = "0.000001", min_notional = "1" }
gateio = { price_decimals = 1, amount_decimals = 6, min_amount = "0.000001", min_notional = "3" }
[[markets]]
symbol = "ETH/USDT"
mexc = { price_decimals = 2, amount_decimals = 5, min_amount = "0.00001", min_notional = "1" }
gateio = { price_decimals = 2, amount_decimals = 4, min_amount = "0.001", min_notional = "3" }
[[markets]]
symbol = "LTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 4, min_amount = "0.001", min_notional = "1" }
gateio = { price_decimals = 2, amount_decimals = 3, min_amount = "0.001", min_notional = "3" }

# BTC: asks on MEXC below Gate's bid by more than both fees.
[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["62990.00", "0.5"]]
asks = [["63000.00", "0.01"], ["63010.00", "0.02"]]
[[books]]
venue = "gateio"
symbol = "BTC/USDT"
bids = [["63400.0", "0.015"], ["62900.0", "1"]]
asks = [["63410.0", "1"]]

# ETH: Gate's bid is above MEXC's ask, but by less than the two taker fees.
[[books]]
venue = "mexc"
symbol = "ETH/USDT"
bids = [["3499.00", "2"]]
asks = [["3500.00", "2"]]
[[books]]
venue = "gateio"
symbol = "ETH/USDT"
bids = [["3505.00", "2"]]
asks = [["3506.00", "2"]]

# LTC: a real cross, but only 0.001 LTC deep: 0.068 USDT, below both minimum notionals.
[[books]]
venue = "mexc"
symbol = "LTC/USDT"
bids = [["67.00", "5"]]
asks = [["68.00", "0.001"], ["75.00", "10"]]
[[books]]
venue = "gateio"
symbol = "LTC/USDT"
bids = [["69.00", "5"]]
asks = [["69.50", "5"]]
"""

FAST_STREAMS = (("ready_timeout", 0.3), ("retry_delay", 0.1))


def settings_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_notional: str) -> Path:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", max_notional)
    monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
    scenario = tmp_path / "planted.toml"
    scenario.write_text(SCENARIO)
    return scenario


async def run_scan(scenario: Path, extra: str = "", duration: float = 2.5) -> None:
    (scenario.parent / "extra.toml").write_text(extra)
    # The planted scenarios are MEXC against Gate (OKX's own runs: test_scan_okx.py).
    settings = replace(load_settings(None), exchanges=("mexc", "gateio"))
    options = ScanOptions(
        as_json=True,
        duration=duration,
        sandbox=True,
        scenario=str(scenario),
        stream_options=FAST_STREAMS,
    )
    assert await scan(settings, options) == 0


async def test_planted_books_give_exactly_one_btc_opportunity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = settings_for(tmp_path, monkeypatch, "5000")
    await run_scan(scenario)
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 1, out
    event = events[0]
    assert (event["symbol"], event["buy_exchange"], event["sell_exchange"]) == (
        "BTC/USDT",
        "mexc",
        "gateio",
    )
    # Gate's bid holds 0.015: buy 0.01 @ 63000 + 0.005 @ 63010 = 945.05, sell 0.015 @ 63400.
    assert Decimal(event["amount"]) == Decimal("0.015")
    assert Decimal(event["buy_cost"]) == Decimal("945.05")
    assert Decimal(event["sell_proceeds"]) == Decimal("951.0")
    assert Decimal(event["net_profit"]) == Decimal("951.0") * Decimal("0.998") - Decimal(
        "945.05"
    ) * Decimal("1.0005")
    assert Decimal(event["sell_price"]) == Decimal("63400")
    assert Decimal(event["buy_limit_price"]) == Decimal("63010")
    assert "opportunities seen: 1" in err
    ledger = Ledger(tmp_path / "ledger.sqlite")
    rows = ledger.query_sync("SELECT symbol, amount, net_profit, source FROM opportunities")
    ledger.close()
    assert [tuple(r) for r in rows] == [
        ("BTC/USDT", event["amount"], event["net_profit"], "sandbox")
    ]


async def test_max_notional_caps_the_amount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = settings_for(tmp_path, monkeypatch, "630")
    await run_scan(scenario)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["symbol"], Decimal(e["amount"])) for e in events] == [("BTC/USDT", Decimal("0.01"))]
    expected = Decimal("0.01") * Decimal("63400.0") * Decimal("0.998") - Decimal(
        "630.00"
    ) * Decimal("1.0005")
    assert Decimal(events[0]["net_profit"]) == expected


async def test_a_stale_venue_produces_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = settings_for(tmp_path, monkeypatch, "5000")
    # Gate's clock lags 60 s for the whole run: its books arrive stale and are refused.
    scenario.write_text(
        SCENARIO
        + '\n[[faults]]\nkind = "stale"\nvenue = "gateio"\nat_ms = 0\n'
        + "duration_ms = 600000\nstale_ms = 60000\n"
    )
    await run_scan(scenario)
    out, err = capsys.readouterr()
    assert out == ""
    assert "opportunities seen: 0" in err
    assert "stale refused" in err
