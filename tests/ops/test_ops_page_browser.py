"""The status page in a real headless Chromium against `arb run --sandbox`: it shows the trades."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser import (
    SIZE,
    dump_dom,
    find_chromium,
    free_port,
    png_size,
    screenshot,
    start_arb,
    stop,
    wait_for_trades,
)
from opstools import write_scenario

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary on PATH (chromium, chromium-browser, google-chrome): "
    "`make browser` installs Debian's chromium where apt-get runs as root",
)


def test_the_status_page_shows_the_sandbox_trade(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    env.update(
        ARB_SYMBOLS="BTC/USDT",
        ARB_TRADING__MAX_NOTIONAL="5000",
        ARB_RISK__MAX_EXPOSURE="5000",
        ARB_LEDGER__PATH=str(tmp_path / "ledger.sqlite"),
        ARB_RISK__KILL_SWITCH_PATH=str(tmp_path / "KILL"),
        ARB_STATUS__LISTEN=f"127.0.0.1:{port}",
    )
    scenario = write_scenario(tmp_path)
    child = start_arb(env, tmp_path, "--scenario", str(scenario), "--duration", "120")
    try:
        status = wait_for_trades(base)
        shot = tmp_path / "status-page.png"
        screenshot(CHROMIUM, f"{base}/", shot)
        dom = dump_dom(CHROMIUM, f"{base}/")
    finally:
        code = stop(child)
    assert code == 0
    trade = status["trades"][0]
    # The rendered table, not just the script: the trade's row as the browser built it.
    row = (
        f"<td>{trade['intent_id']}</td><td>BTC/USDT</td><td>mexc</td><td>gateio</td>"
        f'<td class="num">{trade["amount"]}</td><td class="ok">settled</td>'
        f'<td class="num">{trade["pnl"]}</td>'
    )
    assert row in dom
    assert '<b id="trading" class="ok">allowed</b>' in dom
    assert '<b id="breaker" class="ok">closed</b>' in dom
    assert f'<b id="pnl">{status["pnl"]["session_pnl"]}</b>' in dom
    assert png_size(shot) == SIZE
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
