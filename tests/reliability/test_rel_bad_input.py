"""Promise 6 (settings and arguments): every subcommand exits 2 with one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.cli import main

FILES = {
    "broken.toml": "[default\nx = 1\n",  # not TOML
    "badval.toml": '[default.trading]\nmax_notional = "abc"\n',
    "badfault.toml": '[[faults]]\nkind = "meteor"\nvenue = "mexc"\n',  # a scenario
    "scenario.toml": 'name = "fine"\n',
}

ARGUMENTS = [
    (["scan", "--exchanges", "mexc,nosuchvenue"], "--exchanges"),
    (["run", "--exchanges", "mexc,nosuchvenue"], "--exchanges"),
    (["symbols", "--exchanges", "nosuchvenue,mexc"], "--exchanges"),
    (["run", "--symbols", "BTCUSDT"], "--symbols"),
    (["symbols", "--symbols", "BTCUSDT"], "--symbols"),
    (["run", "--log-level", "LOUD"], "--log-level"),
    (["symbols", "--log-level", "LOUD"], "--log-level"),
    (["run", "--duration", "0"], "--duration"),
    (["scan", "--duration", "abc"], "--duration"),
    (["run", "--scenario", "scenario.toml"], "--scenario"),  # needs --sandbox
    (["scan", "--scenario", "scenario.toml"], "--scenario"),
    (["run", "--paper", "--sandbox"], "--paper"),
    (["sim", "--port", "70000"], "--port"),
    (["sim", "--scenario", "missing.toml"], "--scenario"),
    (["sim", "--scenario", "broken.toml"], "--scenario"),
    (["sim", "--scenario", "badfault.toml"], "faults.kind"),
    (["scan", "--sandbox", "--scenario", "badfault.toml"], "--scenario"),
    (["run", "--sandbox", "--scenario", "broken.toml"], "--scenario"),
    (["report", "--settings", "missing.toml"], "--settings"),
    (["report", "--bogus"], "--bogus"),
    (["run", "--settings", "badval.toml"], "trading.max_notional"),
    (["report", "--settings", "badval.toml"], "trading.max_notional"),
    (["symbols", "--settings", "broken.toml"], "broken.toml"),
    (["scan", "--settings", "broken.toml"], "broken.toml"),
]

ENVIRONMENT = [
    ("run", "ARB_TRADING__POLICY", "yolo", "trading.policy"),
    ("run", "ARB_RISK__MAX_CONSECUTIVE_FAILURES", "0", "risk.max_consecutive_failures"),
    ("run", "ARB_TRADING__MAX_NOTIONAL", "-5", "trading.max_notional"),
    ("scan", "ARB_EXCHANGES__MEXC__REST_URL", "notaurl", "exchanges.mexc.rest_url"),
    ("scan", "ARB_MARKET_DATA__DEPTH", "0", "market_data.depth"),
    ("symbols", "ARB_LOG__LEVEL", "LOUD", "log.level"),
    ("report", "ARB_ENV", "bogus", "ARB_ENV"),
    ("scan", "ARB_ENV", "bogus", "ARB_ENV"),
]


def run_cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), out, err


def one_line_naming(err: str, named: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert named in err


@pytest.fixture(autouse=True)
def _files(tmp_path: Path) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)


@pytest.mark.parametrize(("args", "named"), ARGUMENTS, ids=[" ".join(a) for a, _ in ARGUMENTS])
def test_bad_argument_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    code, out, err = run_cli(capsys, args)
    assert code == 2, err
    assert out == ""
    one_line_naming(err, named)


@pytest.mark.parametrize(
    ("command", "variable", "value", "named"),
    ENVIRONMENT,
    ids=[f"{c} {v}" for c, v, _, _ in ENVIRONMENT],
)
def test_bad_setting_exits_2_naming_the_key(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    variable: str,
    value: str,
    named: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code, out, err = run_cli(capsys, [command])
    assert code == 2, err
    assert out == ""
    one_line_naming(err, named)
