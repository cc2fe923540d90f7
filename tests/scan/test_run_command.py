"""`arb run` end to end: scan -> executor -> simulator, and the start-up checks."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import load_settings
from arb.ledger import Ledger
from arb.run import RunOptions, run
from arb.sim import Simulator, load_scenario


@pytest.fixture(autouse=True)
def _two_venue_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """These worlds list MEXC and Gate only: Bybit (a default venue) is left out."""
    monkeypatch.setenv("ARB_EXCHANGES__BYBIT__ENABLED", "false")


HERE = Path(__file__).parent


def exit_code(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    code = done.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


def test_live_run_without_keys_exits_2_naming_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = exit_code(capsys, "run", "--exchanges", "mexc,gateio")
    assert code == 2
    assert "exchanges.mexc.api_key" in err
    assert "--paper" in err


def test_paper_run_without_balances_exits_2_naming_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = exit_code(capsys, "run", "--paper")
    assert code == 2
    assert "paper.balances.mexc" in err


def test_paper_and_sandbox_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = exit_code(capsys, "run", "--paper", "--sandbox")
    assert code == 2
    assert "--paper" in err


async def test_run_trades_a_planted_opportunity_once_and_balances_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The planted scenario of the scan tests: MEXC asks under Gate's 0.015 BTC bid.
    from test_scan_sandbox import SCENARIO  # noqa: PLC0415 - shared planted books

    path = tmp_path / "planted.toml"
    path.write_text(SCENARIO + '\n[balances.mexc]\nUSDT = "5000"\n[balances.gateio]\nBTC = "1"\n')
    scenario = load_scenario(path)
    async with Simulator(scenario) as sim:
        for venue in ("mexc", "gateio"):
            prefix = f"ARB_EXCHANGES__{venue.upper()}__"
            monkeypatch.setenv(prefix + "REST_URL", sim.rest_url(venue))
            monkeypatch.setenv(prefix + "WS_URL", sim.ws_url(venue))
            monkeypatch.setenv(prefix + "API_KEY", scenario.api_key)
            monkeypatch.setenv(prefix + "API_SECRET", scenario.api_secret)
        monkeypatch.setenv("ARB_EXCHANGES", "mexc,gateio")  # only the simulated ones
        monkeypatch.setenv("ARB_SYMBOLS", "BTC/USDT")
        monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
        monkeypatch.setenv("ARB_RISK__MAX_EXPOSURE", "5000")  # it also caps a trade's size
        monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
        monkeypatch.setenv("ARB_RISK__KILL_SWITCH_PATH", str(tmp_path / "KILL"))
        options = RunOptions(duration=3.0, stream_options=(("ready_timeout", 0.3),))
        assert await run(load_settings(None), options) == 0
        mexc, gate = sim.state("mexc"), sim.state("gateio")
        # 0.015 @ 63400 sold on Gate (fee 0.2 %). MEXC keeps 0.05 % of the BTC it delivers,
        # so 0.015008 is bought (0.01 @ 63000 + 0.005008 @ 63010) and 0.015000496 received.
        assert mexc.free["USDT"] == Decimal("5000") - Decimal("945.55408")
        assert mexc.free["BTC"] == Decimal("0.015000496")
        assert gate.free["USDT"] == Decimal("951.0") * Decimal("0.998")
        assert gate.free["BTC"] == Decimal("1") - Decimal("0.015")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    intents = ledger.query_sync("SELECT state, amount FROM intents")
    trades = ledger.query_sync("SELECT bought, sold, one_legged FROM trades")
    ledger.close()
    assert [(r["state"], Decimal(r["amount"])) for r in intents] == [("settled", Decimal("0.015"))]
    assert [(Decimal(r["bought"]), Decimal(r["sold"]), r["one_legged"]) for r in trades] == [
        (Decimal("0.015008"), Decimal("0.015"), 0)
    ]


# Issue 13's case: a cross over three MEXC ask levels and two Gate bid levels, cut down by
# risk.max_exposure into the first level of each. Market facts as in the planted scenario.
CUT_DOWN = """
name = "cut-down"
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
[balances.mexc]
USDT = "20000"
[balances.gateio]
BTC = "1"
[[books]]
venue = "mexc"
symbol = "BTC/USDT"
bids = [["49990.00", "1"]]
asks = [["50000.00", "0.05"], ["50010.00", "0.1"], ["50100.00", "0.2"]]
[[books]]
venue = "gateio"
symbol = "BTC/USDT"
bids = [["50300.0", "0.1"], ["50250.0", "0.2"]]
asks = [["50310.0", "1"]]
"""


async def test_a_trade_cut_down_by_exposure_trades_at_its_own_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cut.toml"
    path.write_text(CUT_DOWN)
    scenario = load_scenario(path)
    async with Simulator(scenario) as sim:
        for venue in ("mexc", "gateio"):
            prefix = f"ARB_EXCHANGES__{venue.upper()}__"
            monkeypatch.setenv(prefix + "REST_URL", sim.rest_url(venue))
            monkeypatch.setenv(prefix + "WS_URL", sim.ws_url(venue))
            monkeypatch.setenv(prefix + "API_KEY", scenario.api_key)
            monkeypatch.setenv(prefix + "API_SECRET", scenario.api_secret)
        monkeypatch.setenv("ARB_EXCHANGES", "mexc,gateio")  # only the simulated ones
        monkeypatch.setenv("ARB_SYMBOLS", "BTC/USDT")
        monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "20000")  # risk.max_exposure stays 200
        monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
        monkeypatch.setenv("ARB_RISK__KILL_SWITCH_PATH", str(tmp_path / "KILL"))
        options = RunOptions(duration=3.0, stream_options=(("ready_timeout", 0.3),))
        assert await run(load_settings(None), options) == 0
        mexc, gate = sim.state("mexc"), sim.state("gateio")
        btc = mexc.free["BTC"] + gate.free["BTC"]
    ledger = Ledger(tmp_path / "ledger.sqlite")
    intents = ledger.query_sync(
        "SELECT id, state, amount, buy_price, sell_price, expected_profit, worst_case_profit "
        "FROM intents WHERE state != 'skipped' ORDER BY created_at_ms, rowid"
    )
    orders = ledger.query_sync(
        "SELECT exchange, side, amount, price, filled FROM orders WHERE intent_id = ? "
        "ORDER BY exchange",
        (intents[0]["id"],),
    )
    ledger.close()
    # The planted books stay, so it trades again while the run lasts; the first trade:
    # 200 USDT of exposure room at the walk's 50100 limit sells 0.003992 BTC; MEXC keeps
    # 0.05 % of what it delivers, so 0.003994 is bought. Both fit the best level on each side.
    D = Decimal
    assert [tuple(D(v) if i > 1 else v for i, v in enumerate(o)) for o in orders] == [
        ("gateio", "sell", D("0.003992"), D("50300"), D("0.003992")),
        ("mexc", "buy", D("0.003994"), D("50000"), D("0.003994")),
    ]
    # 200.7976 - 0.4015952 (Gate's fee) - 199.7 + 0.000000003 BTC left over * 50000
    first = intents[0]
    assert first["state"] == "settled"
    assert [D(first[k]) for k in ("amount", "buy_price", "sell_price")] == [
        D("0.003992"),
        D("50000"),
        D("50300"),
    ]
    assert (D(first["expected_profit"]), D(first["worst_case_profit"])) == (
        D("0.6961548"),
        D("0.6961548"),
    )
    # every trade settled, and the base held across both venues grew only by what each
    # grossed-up buy delivered beyond its sell: under one step per trade
    assert {r["state"] for r in intents} == {"settled"}
    assert D(0) <= btc - D(1) < len(intents) * D("0.000001")


def test_shipped_settings_file_documents_every_run_setting(tmp_path: Path) -> None:
    shutil.copy(HERE.parents[1] / "settings.toml", tmp_path / "settings.toml")
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.trading.policy == "unwind"
    assert settings.trading.max_worst_case_loss == 0
    assert settings.risk.max_consecutive_failures == 3
    assert settings.paper.balances["mexc"]["USDT"] == Decimal("1000")


def test_run_refuses_a_scan_only_venue_with_exit_2_and_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # kucoin has no module in arb.venues: ccxt.pro scans it, arb does not trade on it
    code, err = exit_code(capsys, "run", "--paper", "--exchanges", "mexc,kucoin")
    assert code == 2
    assert "exchanges" in err
    assert "kucoin is scan-only (book integrity: basic)" in err


def test_live_okx_without_its_passphrase_exits_2_naming_the_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for venue in ("MEXC", "OKX"):
        monkeypatch.setenv(f"ARB_EXCHANGES__{venue}__API_KEY", "k")
        monkeypatch.setenv(f"ARB_EXCHANGES__{venue}__API_SECRET", "s")
    code, err = exit_code(capsys, "run", "--exchanges", "mexc,okx")
    assert code == 2
    assert "exchanges.okx.api_password" in err
    assert "passphrase" in err
