"""Binance end to end on the simulator: real ccxt.pro clients through our adapter.

`arb scan --sandbox --exchanges binance,mexc` finds a planted opportunity; a sequence gap on
Binance's diff depth stream resyncs the book and never yields an opportunity from it (the
executor leg is in tests/execution/test_executor_binance.py).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arb.config import load_settings
from arb.ledger import Ledger
from arb.scan.command import ScanOptions, scan

# Precision and limits from the venues' real BTCUSDT listings (Binance exchangeInfo: tickSize
# 0.01, stepSize 0.00001, minNotional 5; MEXC as in test_scan_sandbox).
SCENARIO = """
name = "planted-binance"
[sandbox]
api_key = "sim-key"
api_secret = "sim-secret"
[venues.mexc]
cadence_ms = 10
taker_fee = "0.0005"
[venues.binance]
cadence_ms = 10
taker_fee = "0.001"

[[markets]]
symbol = "BTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 6, min_amount = "0.000001", min_notional = "1" }
binance = { price_decimals = 2, amount_decimals = 5, min_amount = "0.00001", min_notional = "5" }

# MEXC's asks are below Binance's bid by more than both taker fees.
[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["62990.00", "0.5"]]
asks = [["63000.00", "0.01"], ["63010.00", "0.02"]]
[[books]]
venue = "binance"
symbol = "BTC/USDT"
bids = [["63400.00", "0.015"], ["62900.00", "1"]]
asks = [["63410.00", "1"]]
"""

FAST_STREAMS = (("ready_timeout", 0.3), ("retry_delay", 0.1))


async def run_scan(tmp_path: Path, scenario_text: str, duration: float = 2.5) -> None:
    scenario = tmp_path / "planted.toml"
    scenario.write_text(scenario_text)
    settings = load_settings(None).with_overrides(exchanges=("binance", "mexc"))
    options = ScanOptions(
        as_json=True,
        duration=duration,
        sandbox=True,
        scenario=str(scenario),
        stream_options=FAST_STREAMS,
    )
    assert await scan(settings, options) == 0


async def test_scan_finds_the_planted_opportunity_between_binance_and_mexc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
    monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
    await run_scan(tmp_path, SCENARIO)
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 1, out
    event = events[0]
    assert (event["symbol"], event["buy_exchange"], event["sell_exchange"]) == (
        "BTC/USDT",
        "mexc",
        "binance",
    )
    # Binance's bid holds 0.015: buy 0.01 @ 63000 + 0.005 @ 63010 = 945.05, sell 0.015 @ 63400.
    assert Decimal(event["amount"]) == Decimal("0.015")
    assert Decimal(event["buy_cost"]) == Decimal("945.05")
    assert Decimal(event["sell_proceeds"]) == Decimal("951.00")
    assert Decimal(event["net_profit"]) == Decimal("951.00") * Decimal("0.999") - Decimal(
        "945.05"
    ) * Decimal("1.0005")
    assert "binance: " in err
    assert "opportunities seen: 1" in err


async def test_a_gap_on_binance_resyncs_and_the_gapped_book_gives_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
    monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
    # No cross at the start. At 1 s Binance skips a sequence number, then its bid jumps above
    # MEXC's ask: that push arrives with a gap and must not be used until the book is rebuilt
    # from a snapshot (which then holds the same bid, so the opportunity appears only after).
    text = SCENARIO.replace(
        'bids = [["63400.00", "0.015"], ["62900.00", "1"]]', ('bids = [["62900.00", "1"]]')
    ) + (
        '\n[[faults]]\nkind = "skip_seq"\nvenue = "binance"\nsymbol = "BTC/USDT"\nat_ms = 1000\n'
        '\n[[timeline]]\nat_ms = 1000\nvenue = "binance"\nsymbol = "BTC/USDT"\nside = "bid"\n'
        'price = "63400.00"\namount = "0.015"\n'
    )
    await run_scan(tmp_path, text, duration=4.0)
    out, err = capsys.readouterr()
    binance_line = next(line for line in err.splitlines() if line.startswith("binance:"))
    assert "0 resyncs" not in binance_line, err
    events = [json.loads(line) for line in out.splitlines()]
    # Only from the rebuilt book: the REST snapshot was taken after the gap.
    assert all(e["sell_exchange"] == "binance" for e in events)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    stored = ledger.query_sync("SELECT COUNT(*) FROM opportunities")
    ledger.close()
    assert stored[0][0] == len(events)
