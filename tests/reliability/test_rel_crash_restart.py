"""Promise 4: `kill -9` of `arb run` mid-trade, then a restart: nothing unknown, nothing unsettled.

A real `arb run` process trades against an in-test simulator on loopback. Every REST answer
is slowed (the simulator's `delay` fault) so the trade can be caught at a chosen point and
the process killed without any chance to clean up. The orders it had sent still reach the
venue after its death. A fresh `arb run` then starts, reconciles from fresh order queries,
and the ledger must match the simulator's own orders exactly, with exposure flat.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from reltools import (
    FLAT_TOLERANCE,
    VENUES,
    arb_env,
    assert_ledger_is_the_truth,
    btc_exposure,
    btc_held,
    calm,
    creates,
    eventually,
    has_row,
    ledger_rows,
    placed,
    plant,
    scenario,
    slow_rest,
    start_arb,
    streaming,
    ticking,
)

from arb.sim import Fault, FaultKind, Simulator


def intent_written(ledger: Path, sim: Simulator) -> Callable[[], bool]:
    # The intent is durable and both legs are on their way (held in the venue's delay).
    return has_row(ledger, "SELECT 1 FROM intents WHERE state = 'pending'")


def orders_placed(ledger: Path, sim: Simulator) -> Callable[[], bool]:
    # Both venues executed their leg; the process is settling (its queries are slowed).
    return lambda: placed(sim, "mexc") == 1 and placed(sim, "gateio") == 1


def unwind_sent(ledger: Path, sim: Simulator) -> Callable[[], bool]:
    # Gate refused its leg, MEXC's filled: the unwind order is written and on its way.
    return has_row(ledger, "SELECT 1 FROM orders WHERE role = 'unwind'")


# (kill point, faults before the opportunity, orders per venue once the dust settles,
#  the intent's final state)
POINTS = [
    (intent_written, False, {"mexc": 1, "gateio": 1}, "settled"),
    (orders_placed, False, {"mexc": 1, "gateio": 1}, "settled"),
    (unwind_sent, True, {"mexc": 2, "gateio": 0}, "one_legged"),
]


@pytest.mark.parametrize(
    ("kill_at", "reject_gate", "expected_orders", "final_state"),
    POINTS,
    ids=[p[0].__name__ for p in POINTS],
)
async def test_kill_9_mid_trade_then_restart_leaves_nothing_unknown(
    tmp_path: Path,
    kill_at: Callable[[Path, Simulator], Callable[[], bool]],
    reject_gate: bool,
    expected_orders: dict[str, int],
    final_state: str,
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    async with Simulator(scenario()) as sim, ticking(sim):
        env = arb_env(sim, tmp_path)
        start = btc_held(sim)
        first = await start_arb(tmp_path, env, "run", "--duration", "60", name="first")
        try:
            await eventually(lambda: streaming(sim), what="book subscriptions")
            slow_rest(sim, delay_ms=300, duration_ms=60_000)
            if reject_gate:
                sim.inject(Fault(FaultKind.REJECT_NEXT_ORDER, "gateio"))
            plant(sim)
            await eventually(kill_at(ledger, sim), what=kill_at.__name__)
            first.kill()
            assert await first.wait(10) == -9
        finally:
            if first.proc.returncode is None:
                first.kill()
                await first.proc.wait()
        # The dead process's requests are still in the venue's hands: they execute.
        await eventually(
            lambda: all(placed(sim, v) == n for v, n in expected_orders.items()),
            what="the orders sent before the kill reaching the venue",
        )
        pending = ledger_rows(ledger, "SELECT state FROM intents")
        slow_rest(sim, delay_ms=0, duration_ms=0)
        calm(sim)
        second = await start_arb(tmp_path, env, "run", "--duration", "0.5", name="second")
        code = await second.wait(60)
        _out, err = second.output()
        assert code == 0, err[-3000:]

        orders = assert_ledger_is_the_truth(ledger, sim)
        sent = {v: creates(sim, v) for v in VENUES}
        exposure = btc_exposure(sim, start)

    assert [r["state"] for r in pending] == ["pending"]
    intents = ledger_rows(ledger, "SELECT state, reason FROM intents")
    assert [r["state"] for r in intents] == [final_state], [dict(r) for r in intents]
    assert "reconciled at start" in intents[0]["reason"]
    # Never sent twice: one create per order the ledger knows, none from the restart.
    assert sent == {v: sum(1 for o in orders if o["exchange"] == v) for v in VENUES}
    assert sent == {"mexc": expected_orders["mexc"], "gateio": 1}
    assert abs(exposure) <= FLAT_TOLERANCE
    assert ledger_rows(ledger, "SELECT * FROM breaker_events WHERE kind = 'trip'") == []
    (trade,) = ledger_rows(ledger, "SELECT bought, sold FROM trades")
    assert abs(float(trade["bought"]) - float(trade["sold"])) * 63000 < 3
    assert "reconciled intent" in err
