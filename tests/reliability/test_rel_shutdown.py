"""Promise 5: SIGINT / SIGTERM during a trade settle it, close the connections and exit."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from reltools import (
    VENUES,
    arb_env,
    assert_ledger_is_the_truth,
    eventually,
    ledger_rows,
    placed,
    plant,
    scenario,
    slow_rest,
    start_arb,
    streaming,
    ticking,
)

from arb.sim import Simulator


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_stop_signal_mid_trade_settles_it_and_exits(
    tmp_path: Path, sig: signal.Signals
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    async with Simulator(scenario()) as sim, ticking(sim):
        arb = await start_arb(tmp_path, arb_env(sim, tmp_path), "run", "--duration", "60")
        try:
            await eventually(lambda: streaming(sim), what="book subscriptions")
            slow_rest(sim, delay_ms=300, duration_ms=60_000)  # settling takes a while
            plant(sim)
            await eventually(
                lambda: placed(sim, "mexc") == 1 and placed(sim, "gateio") == 1,
                what="both legs placed",
            )
            in_flight = ledger_rows(ledger, "SELECT state FROM intents")
            arb.proc.send_signal(sig)
            code = await arb.wait(30)  # generous: settling queries wait 300 ms each
        finally:
            if arb.proc.returncode is None:
                arb.kill()
                await arb.proc.wait()
        _out, err = arb.output()
        # The process closed its WebSockets: the venues see no connection left.
        await eventually(
            lambda: all(not sim.contexts[v].hub.conns for v in VENUES),
            within=5,
            what="connections closed",
        )
        assert_ledger_is_the_truth(ledger, sim)

    assert [r["state"] for r in in_flight] == ["pending"]
    assert code == 0, err[-3000:]
    assert f"{sig.name}: no new trades; settling what is in flight" in err
    intents = ledger_rows(ledger, "SELECT state FROM intents")
    assert [r["state"] for r in intents] == ["settled"]
    orders = ledger_rows(ledger, "SELECT status, filled FROM orders ORDER BY exchange")
    # gateio sold 0.015; mexc bought 0.015008, grossed up for the fee MEXC keeps in BTC
    assert [(o["status"], o["filled"]) for o in orders] == [
        ("closed", "0.015"),
        ("closed", "0.015008"),
    ]
    assert "intents: 1 settled" in err
