"""`arb scan --sandbox --exchanges bybit,mexc`: real ccxt.pro bybit and mexc clients, simulator.

Precision and minimums are the venues' real BTCUSDT listings (Bybit instruments-info: tick
0.1, basePrecision 0.000001, minOrderQty 0.000011, minOrderAmt 5; MEXC as in the other
sandbox tests).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arb.config import load_settings
from arb.scan.command import ScanOptions, scan

SCENARIO = """
name = "planted-bybit"
[sandbox]
api_key = "sim-key"
api_secret = "sim-secret"
[venues.mexc]
cadence_ms = 10
taker_fee = "0.0005"
[venues.bybit]
cadence_ms = 10
taker_fee = "0.001"

[[markets]]
symbol = "BTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 6, min_amount = "0.000001", min_notional = "1" }
bybit = { price_decimals = 1, amount_decimals = 6, min_amount = "0.000011", min_notional = "5" }

# Bybit's asks are below MEXC's bid by more than both taker fees.
[[books]]
venue = "bybit"
symbol = "BTC/USDT"
bids = [["62990.0", "0.5"]]
asks = [["63000.0", "0.01"], ["63010.0", "0.02"]]
[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["63400.00", "0.015"], ["62900.00", "1"]]
asks = [["63410.00", "1"]]
"""


async def test_a_planted_bybit_mexc_opportunity_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
    monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
    monkeypatch.setenv("ARB_EXCHANGES", '["bybit", "mexc"]')
    scenario = tmp_path / "planted.toml"
    scenario.write_text(SCENARIO)
    options = ScanOptions(
        as_json=True,
        duration=2.5,
        sandbox=True,
        scenario=str(scenario),
        stream_options=(("ready_timeout", 0.3), ("retry_delay", 0.1)),
    )
    assert await scan(load_settings(None), options) == 0
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 1, out
    (event,) = events
    assert (event["symbol"], event["buy_exchange"], event["sell_exchange"]) == (
        "BTC/USDT",
        "bybit",
        "mexc",
    )
    # MEXC's bid holds 0.015: buy 0.01 @ 63000 + 0.005 @ 63010 = 945.05, sell 0.015 @ 63400.
    assert Decimal(event["amount"]) == Decimal("0.015")
    assert Decimal(event["buy_cost"]) == Decimal("945.05")
    assert Decimal(event["sell_proceeds"]) == Decimal("951")
    assert Decimal(event["net_profit"]) == Decimal("951") * Decimal("0.9995") - Decimal(
        "945.05"
    ) * Decimal("1.001")
    assert "bybit:" in err
    assert "opportunities seen: 1" in err
