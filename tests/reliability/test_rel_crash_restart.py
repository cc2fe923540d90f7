"""Promise 4: `kill -9` of `arb run` mid-trade, then a restart: nothing unknown, nothing unsettled.

A real `arb run` process trades against an in-test simulator on loopback. Every REST answer
is slowed (the simulator's `delay` fault) so the trade can be caught at a chosen point and
the process killed without any chance to clean up. The orders it had sent still reach the
venue after its death. A fresh `arb run` then starts, reconciles from fresh order queries,
and the ledger must match the simulator's own orders exactly, with exposure flat.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from reltools import (
    CREATE,
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
    venue_client_id,
)

from arb.sim import Fault, FaultKind, Simulator


def intent_written(ledger: Path, sim: Simulator) -> Callable[[], bool]:
    # The intent is durable; whether the legs left the process before the kill is a race.
    return has_row(ledger, "SELECT 1 FROM intents WHERE state = 'pending'")


def orders_sent(ledger: Path, sim: Simulator) -> Callable[[], bool]:
    # Both creates reached the venues, which hold them (delay): they execute after the kill.
    return lambda: creates(sim, "mexc") == 1 and creates(sim, "gateio") == 1


def rejected(sim: Simulator, venue: str) -> int:
    """Create requests the venue refused (an injected reject): nothing placed."""
    return sum(1 for e in sim.log.of(venue, "http") if e.get("reject") == "rejected")


def sent_ids(entries: list[dict[str, Any]]) -> list[str]:
    """The client order id of every create request the venues received."""
    ids = []
    for e in entries:
        if e["kind"] != "http" or (e["method"], e["path"]) not in CREATE.values():
            continue
        if e["venue"] == "mexc":
            ids.append(parse_qs(e["query"])["newClientOrderId"][0])
        else:
            ids.append(json.loads(e["body"])["text"])
    return ids


def intents_id(ledger: Path) -> str:
    (row,) = ledger_rows(ledger, "SELECT id FROM intents")
    return str(row["id"])


def unwind_sent(ledger: Path, sim: Simulator) -> Callable[[], bool]:
    # Gate refused its leg, MEXC's filled: the unwind order reached MEXC, which holds it.
    return lambda: creates(sim, "mexc") == 2


# (kill point, faults before the opportunity, orders per venue once the dust settles,
#  the intent's final state); None: a race decides (see intent_written)
POINTS = [
    (intent_written, False, None, None),
    (orders_sent, False, {"mexc": 1, "gateio": 1}, "settled"),
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
    expected_orders: dict[str, int] | None,
    final_state: str | None,
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
        # The dead process's requests still in the venue's hands execute.
        await eventually(
            lambda: all(placed(sim, v) == creates(sim, v) - rejected(sim, v) for v in VENUES),
            what="the orders sent before the kill executed",
        )
        if expected_orders is not None:
            assert {v: placed(sim, v) for v in VENUES} == expected_orders
        pending = ledger_rows(ledger, "SELECT state FROM intents")
        slow_rest(sim, delay_ms=0, duration_ms=0)
        calm(sim)
        second = await start_arb(tmp_path, env, "run", "--duration", "0.5", name="second")
        code = await second.wait(60)
        _out, err = second.output()
        assert code == 0, err[-3000:]

        orders = assert_ledger_is_the_truth(ledger, sim)
        sent = {v: creates(sim, v) for v in VENUES}
        sim_log = list(sim.log.entries)
        exposure = btc_exposure(sim, start)

    assert [r["state"] for r in pending] == ["pending"]
    intents = ledger_rows(ledger, "SELECT state, reason FROM intents")
    assert len(intents) == 1
    assert "reconciled at start" in intents[0]["reason"]
    assert "reconciled intent" in err
    # Never sent twice, none sent by the restart, every one sent known to the ledger.
    ids = sent_ids(sim_log)
    assert len(ids) == len(set(ids)) == sum(sent.values())
    assert set(ids) <= {venue_client_id(o["exchange"], o["client_order_id"]) for o in orders}
    trips = ledger_rows(ledger, "SELECT reason FROM breaker_events WHERE kind = 'trip'")
    if final_state is not None:
        assert intents[0]["state"] == final_state, [dict(r) for r in intents]
    if abs(exposure) <= FLAT_TOLERANCE:
        assert trips == []
    else:
        # Only one leg got out before the kill: the restart cannot trade a stale position
        # away, so it stops trading and names the intent for the operator.
        assert final_state is None
        assert intents[0]["state"] == "one_legged"
        assert len(trips) == 1
        assert intents_id(ledger) in trips[0]["reason"]
