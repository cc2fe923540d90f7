"""`arb scan --sandbox` and `arb run --sandbox` with OKX as one leg, through the real clients.

OKX's market facts are its real listing (tests/data/okx/instruments.json: BTC-USDT tickSz 0.1,
lotSz 0.00000001, minSz 0.00001, no minimum notional); fees are OKX's Lv1 taker 0.1 %.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from arb.config import load_settings
from arb.ledger import Ledger
from arb.run import RunOptions, run
from arb.scan.command import ScanOptions, scan
from arb.sim import Simulator, load_scenario

SCENARIO = """
name = "okx-planted"
[sandbox]
api_key = "sim-key"
api_secret = "sim-secret"
api_password = "sim-passphrase"
[venues.mexc]
cadence_ms = 10
taker_fee = "0.0005"
[venues.okx]
cadence_ms = 10
taker_fee = "0.001"

[[markets]]
symbol = "BTC/USDT"
mexc = { price_decimals = 2, amount_decimals = 6, min_amount = "0.000001", min_notional = "1" }
okx = { price_decimals = 1, amount_decimals = 8, min_amount = "0.00001", min_notional = "0" }

[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["62990.00", "0.5"]]
asks = [["63000.00", "0.01"], ["63010.00", "0.02"]]
[[books]]
venue = "okx"
symbol = "BTC/USDT"
bids = [["63400.0", "0.015"], ["62900.0", "1"]]
asks = [["63410.0", "1"]]
"""

# OKX calm at first; after 1.5 s its bid turns rich in the very push that skips a seqId.
GAPPED = """
[[faults]]
kind = "skip_seq"
venue = "okx"
symbol = "BTC/USDT"
at_ms = 1500
[[timeline]]
at_ms = 1500
venue = "okx"
symbol = "BTC/USDT"
side = "bid"
price = "63400.0"
amount = "0.012"
"""

FAST_STREAMS = (("ready_timeout", 0.3), ("retry_delay", 0.1))


def write(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
    monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
    path = tmp_path / "okx.toml"
    path.write_text(text)
    return path


async def scan_json(path: Path, duration: float) -> None:
    settings = replace(load_settings(None), exchanges=("okx", "mexc"), symbols=("BTC/USDT",))
    options = ScanOptions(
        as_json=True,
        duration=duration,
        sandbox=True,
        scenario=str(path),
        stream_options=FAST_STREAMS,
    )
    assert await scan(settings, options) == 0


async def test_scan_sandbox_shows_the_planted_okx_opportunity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await scan_json(write(tmp_path, SCENARIO, monkeypatch), 2.5)
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 1, out
    event = events[0]
    assert (event["symbol"], event["buy_exchange"], event["sell_exchange"]) == (
        "BTC/USDT",
        "mexc",
        "okx",
    )
    # OKX's bid holds 0.015: buy 0.01 @ 63000 + 0.005 @ 63010 = 945.05, sell 0.015 @ 63400.
    assert Decimal(event["amount"]) == Decimal("0.015")
    assert Decimal(event["buy_cost"]) == Decimal("945.05")
    assert Decimal(event["sell_proceeds"]) == Decimal("951.0")
    # Scan has no keys: OKX's instruments carry no fee, so ccxt's listed spot taker fee
    # (0.15 %) is the one used; `arb run` fetches the account's own (0.1 % here).
    assert Decimal(event["net_profit"]) == Decimal("951.0") * Decimal("0.9985") - Decimal(
        "945.05"
    ) * Decimal("1.0005")
    assert re.search(r"^okx: \d+ book updates, 0 resyncs", err, re.MULTILINE), err


async def test_a_gapped_okx_push_resyncs_the_book_by_resubscribing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calm = SCENARIO.replace(
        'bids = [["63400.0", "0.015"], ["62900.0", "1"]]', 'bids = [["62900.0", "1"]]'
    )
    await scan_json(write(tmp_path, calm + GAPPED, monkeypatch), 4.0)
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    summary = re.search(r"^okx: \d+ book updates, (\d+) resyncs", err, re.MULTILINE)
    assert summary is not None, err
    resyncs = int(summary.group(1))
    # The gap was caught (ccxt never applied the gapped push) and the book rebuilt from a
    # fresh subscription's snapshot, which is where the rich bid came from.
    assert resyncs >= 1, err
    assert events, err
    assert {Decimal(e["amount"]) for e in events} == {Decimal("0.012")}
    assert {(e["buy_exchange"], e["sell_exchange"]) for e in events} == {("mexc", "okx")}


async def test_run_sandbox_trades_the_okx_opportunity_and_balances_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "okx.toml"
    path.write_text(SCENARIO + '\n[balances.mexc]\nUSDT = "5000"\n[balances.okx]\nBTC = "1"\n')
    scenario = load_scenario(path)
    async with Simulator(scenario) as sim:
        for venue in ("mexc", "okx"):
            prefix = f"ARB_EXCHANGES__{venue.upper()}__"
            monkeypatch.setenv(prefix + "REST_URL", sim.rest_url(venue))
            monkeypatch.setenv(prefix + "WS_URL", sim.ws_url(venue))
            monkeypatch.setenv(prefix + "API_KEY", scenario.api_key)
            monkeypatch.setenv(prefix + "API_SECRET", scenario.api_secret)
        monkeypatch.setenv("ARB_EXCHANGES__OKX__API_PASSWORD", scenario.api_password)
        monkeypatch.setenv("ARB_EXCHANGES", "mexc,okx")
        monkeypatch.setenv("ARB_SYMBOLS", "BTC/USDT")
        monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
        monkeypatch.setenv("ARB_RISK__MAX_EXPOSURE", "5000")
        monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
        monkeypatch.setenv("ARB_RISK__KILL_SWITCH_PATH", str(tmp_path / "KILL"))
        options = RunOptions(duration=3.0, stream_options=(("ready_timeout", 0.3),))
        assert await run(load_settings(None), options) == 0
        mexc, okx = sim.state("mexc"), sim.state("okx")
        okx_orders = list(okx.orders.values())
        okx_posts = [e for e in sim.log.of("okx", "http") if e["path"] == "/api/v5/trade/order"]
    # 0.015 @ 63400 sold on OKX (fee 0.1 % of the USDT received); MEXC keeps 0.05 % of the
    # BTC it delivers, so 0.015008 is bought (0.01 @ 63000 + 0.005008 @ 63010).
    assert [(o.side, o.tif, o.amount, o.price, o.filled) for o in okx_orders] == [
        ("sell", "ioc", Decimal("0.015"), Decimal("63400"), Decimal("0.015"))
    ]
    assert okx_orders[0].client_id.startswith("arb")
    assert okx.free["USDT"] == Decimal("951.0") * Decimal("0.999")
    assert okx.free["BTC"] == Decimal("1") - Decimal("0.015")
    assert mexc.free["USDT"] == Decimal("5000") - Decimal("945.55408")
    assert mexc.free["BTC"] == Decimal("0.015000496")
    # The passphrase is checked, never logged.
    assert okx_posts
    assert "sim-passphrase" not in json.dumps(okx_posts)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    intents = ledger.query_sync("SELECT state, amount FROM intents")
    ledger.close()
    assert [(r["state"], Decimal(r["amount"])) for r in intents] == [("settled", Decimal("0.015"))]
