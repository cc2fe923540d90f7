"""Errors a user meets on `arb scan` and `arb symbols`: one line naming the problem."""

from __future__ import annotations

import json

import pytest

from arb.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_no_venue_answering_at_start_up_exits_1_naming_each_with_its_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    monkeypatch.setenv("ARB_EXCHANGES", "mexc,gateio")  # never a live venue
    monkeypatch.setenv("ARB_EXCHANGES__GATEIO__REST_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ARB_EXCHANGES__MEXC__REST_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ARB_EXCHANGES", "mexc,gateio")
    code, _, err = run_cli(capsys, "scan", "--duration", "1")
    assert code == 1
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("arb: no venue answered at start-up")
    assert "mexc at http://127.0.0.1:9 (" in last
    assert "gateio at http://127.0.0.1:9 (" in last


def test_symbols_command_on_the_sandbox_lists_both_venues(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(capsys, "symbols", "--sandbox", "--json", "--symbols", "BTC/USDT")
    assert code == 0
    rows = json.loads(out)
    text = json.dumps(rows)
    assert "BTCUSDT" in text
    assert "BTC_USDT" in text


def test_unknown_symbol_on_the_sandbox_is_explained(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_cli(capsys, "scan", "--sandbox", "--symbols", "NOPE/USDT", "--duration", "1")
    assert code == 2
    assert "NOPE/USDT" in err
    assert "Traceback" not in err
