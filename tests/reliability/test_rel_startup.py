"""Start-up: a venue down when arb starts is retried in the background and joins when it answers.

Gate is down (the simulator's `outage` fault: REST 503, WebSockets refused) before the first
request. MEXC's books are scanned meanwhile; when Gate comes back its markets join the
detector, its books are streamed and the planted opportunity across both venues appears.
`arb run` fetches the late venue's taker fee before it trades there.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from reltools import (
    SYMBOL,
    TRADE_AMOUNT,
    arb_env,
    assert_ledger_is_the_truth,
    eventually,
    placed,
    plant,
    scenario,
    start_arb,
    ticking,
)
from rich.console import Console

from arb.config import load_settings
from arb.log import HotLog
from arb.scan.command import ScanOptions, open_pipeline, sandbox_settings
from arb.scan.detector import OpportunityEvent
from arb.scan.engine import join_delay
from arb.sim import Fault, FaultKind, Simulator

FAST = (("ready_timeout", 0.3), ("retry_delay", 0.05))
DOWN = Fault(FaultKind.OUTAGE, "gateio", duration_ms=600_000)
BACK = Fault(FaultKind.OUTAGE, "gateio", duration_ms=0)  # ends the outage now


def refused(sim: Simulator, venue: str) -> Callable[[], int]:
    """How many requests the venue has refused for its outage so far."""
    return lambda: sum(1 for e in sim.log.of(venue, "http") if e.get("fault") == "outage")


async def test_a_venue_down_at_start_up_joins_when_it_answers_while_the_other_scans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARB_TRADING__MAX_NOTIONAL", "5000")
    monkeypatch.setenv("ARB_MARKET_DATA__MAX_AGE_MS", "2000")
    monkeypatch.setenv("ARB_MARKET_DATA__VENUE_RETRY_MAX_S", "1")
    events: list[OpportunityEvent] = []
    hot = HotLog()
    async with Simulator(scenario()) as sim, ticking(sim, 0.05):
        sim.inject(DOWN)
        plant(sim)
        settings = sandbox_settings(replace(load_settings(None), exchanges=("mexc", "gateio")), sim)
        async with contextlib.AsyncExitStack() as stack:
            options = ScanOptions(stream_options=FAST)
            console = Console(stderr=True)
            pipeline = await open_pipeline(stack, settings, options, events.append, hot, console)
            assert (set(pipeline.venues), set(pipeline.pending)) == ({"mexc"}, {"gateio"})
            assert pipeline.symbols == (SYMBOL,)  # watched on MEXC already, waiting for Gate
            assert pipeline.feeds["gateio"].state == "connecting"
            at_start = refused(sim, "gateio")()
            task = asyncio.create_task(pipeline.run())
            try:
                await eventually(
                    lambda: pipeline.feeds["mexc"].updates >= 5, what="MEXC scanning alone"
                )
                await eventually(lambda: refused(sim, "gateio")() > at_start, what="Gate retried")
                assert events == []  # one venue: nothing to compare yet
                assert "gateio" in pipeline.pending
                sim.inject(BACK)
                await eventually(lambda: bool(events), what="the opportunity across both venues")
                assert not task.done()
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                hot.close()
    assert set(pipeline.venues) == {"mexc", "gateio"}
    assert pipeline.pending == {}
    found = events[0].opportunity
    assert (found.symbol, found.buy_venue, found.sell_venue) == (SYMBOL, "mexc", "gateio")
    assert found.amount == TRADE_AMOUNT


async def test_arb_run_fetches_a_late_venues_fee_before_it_trades_there(tmp_path: Path) -> None:
    async with Simulator(scenario()) as sim, ticking(sim, 0.05):
        sim.inject(DOWN)
        env = arb_env(sim, tmp_path) | {"ARB_MARKET_DATA__VENUE_RETRY_MAX_S": "1"}
        arb = await start_arb(tmp_path, env, "run", "--duration", "60")
        try:
            await eventually(
                lambda: any(e["path"] == "/ws" for e in sim.log.of("mexc", "ws_connect")),
                what="MEXC streaming",
            )
            await eventually(lambda: refused(sim, "gateio")() > 4, what="Gate retried")
            plant(sim)
            await asyncio.sleep(0.3)
            assert placed(sim, "mexc") == 0  # no trade while Gate is missing
            sim.inject(BACK)
            await eventually(lambda: placed(sim, "gateio") > 0, within=30, what="a trade on Gate")
        finally:
            if arb.proc.returncode is None:
                arb.proc.send_signal(signal.SIGTERM)
        assert await arb.wait(30) == 0
        paths = [e["path"] for e in sim.log.of("gateio", "http") if "fault" not in e]
        fee = paths.index("/api/v4/wallet/fee")
        order = paths.index("/api/v4/spot/orders")
        assert fee < order, paths
    assert_ledger_is_the_truth(tmp_path / "ledger.sqlite", sim)
    _, err = arb.output()
    assert "gateio: answered" in err


def test_background_retries_double_with_jitter_up_to_the_cap() -> None:
    assert [join_delay(n, 60.0, lambda: 0.0) for n in range(8)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
    ]
    assert [join_delay(n, 60.0, lambda: 1.0) for n in range(8)][-2:] == [60.0, 60.0]
    assert join_delay(3, 5.0, lambda: 0.5) == 3.75  # half fixed, half random, capped at 5
