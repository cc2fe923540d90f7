"""`arb balances`: fresh balances per venue through the real clients, combined and skewed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from arb.cli import main
from arb.execution.holdings import Holding, holdings
from arb.sim import load_scenario

D = Decimal


def test_holdings_combine_venues_and_measure_the_skew() -> None:
    rows = holdings(
        {
            "mexc": {"USDT": D("1200"), "BTC": D("0.25"), "DOGE": D(0)},
            "gateio": {"USDT": D("800"), "BTC": D("0.05")},
        }
    )
    assert rows == (
        Holding("BTC", (("mexc", D("0.25")), ("gateio", D("0.05")))),
        Holding("USDT", (("mexc", D("1200")), ("gateio", D("800")))),
    )  # DOGE: held nowhere, not shown
    btc, usdt = rows
    assert (btc.combined, btc.skew, btc.skew_pct) == (D("0.30"), D("0.20"), D("66.67"))
    assert (usdt.combined, usdt.skew, usdt.skew_pct) == (D("2000"), D("400"), D("20.00"))


def test_balances_sandbox_json_reads_every_simulated_account(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["balances", "--sandbox", "--json", "--exchanges", "mexc,gateio"])
    assert done.value.code == 0
    rows = {row["asset"]: row for row in json.loads(capsys.readouterr().out)}
    wallets = load_scenario().balances  # what the simulator's accounts start with
    assets = {a for v in ("mexc", "gateio") for a, amount in wallets[v].items() if amount}
    assert set(rows) == assets
    for asset, row in rows.items():
        held = {v: wallets[v].get(asset, D(0)) for v in ("mexc", "gateio")}
        assert {v: D(a) for v, a in row["venues"].items()} == held
        assert D(row["combined"]) == sum(held.values())
        assert D(row["skew"]) == max(held.values()) - min(held.values())


def test_balances_live_without_keys_exits_2_naming_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["balances", "--exchanges", "mexc,gateio"])
    assert done.value.code == 2
    assert "exchanges.mexc.api_key" in capsys.readouterr().err
