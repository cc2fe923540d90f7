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
        monkeypatch.setenv("ARB_SYMBOLS", "BTC/USDT")
        monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
        monkeypatch.setenv("ARB_RISK__MAX_EXPOSURE", "5000")  # it also caps a trade's size
        monkeypatch.setenv("ARB_LEDGER__PATH", str(tmp_path / "ledger.sqlite"))
        monkeypatch.setenv("ARB_RISK__KILL_SWITCH_PATH", str(tmp_path / "KILL"))
        options = RunOptions(duration=3.0, stream_options=(("ready_timeout", 0.3),))
        assert await run(load_settings(None), options) == 0
        mexc, gate = sim.state("mexc"), sim.state("gateio")
        # 0.01 @ 63000 + 0.005 @ 63010 bought on MEXC; 0.015 @ 63400 sold on Gate (fee 0.2 %).
        assert mexc.free["USDT"] == Decimal("5000") - Decimal("945.05")
        assert gate.free["USDT"] == Decimal("951.0") * Decimal("0.998")
        assert gate.free["BTC"] == Decimal("1") - Decimal("0.015")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    intents = ledger.query_sync("SELECT state, amount FROM intents")
    trades = ledger.query_sync("SELECT bought, sold, one_legged FROM trades")
    ledger.close()
    assert [(r["state"], Decimal(r["amount"])) for r in intents] == [("settled", Decimal("0.015"))]
    assert [(Decimal(r["bought"]), Decimal(r["sold"]), r["one_legged"]) for r in trades] == [
        (Decimal("0.015"), Decimal("0.015"), 0)
    ]


def test_shipped_settings_file_documents_every_run_setting(tmp_path: Path) -> None:
    shutil.copy(HERE.parents[1] / "settings.toml", tmp_path / "settings.toml")
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.trading.policy == "unwind"
    assert settings.risk.max_consecutive_failures == 3
    assert settings.paper.balances["mexc"]["USDT"] == Decimal("1000")
