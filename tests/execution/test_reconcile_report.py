"""A run killed between intent and settlement is reconciled at the next start; `arb report`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from exec_fakes import D, FakeVenue, executor, opportunity, pair, rows, settings

from arb.execution.executor import IntentState
from arb.execution.reconcile import reconcile
from arb.execution.session import install_signals, prepare, trading
from arb.ledger import Ledger
from arb.report import report


async def _die_mid_trade(ledger: Ledger, mexc: FakeVenue, gate: FakeVenue) -> None:
    """Start a trade whose creates never answer, then stop it as a dying process would."""
    ex = await executor((mexc, gate), ledger, settings(order_timeout_s=60))
    assert ex.submit(opportunity(mexc.book, gate.book))
    await asyncio.gather(mexc.in_flight.wait(), gate.in_flight.wait())
    await asyncio.sleep(0)  # both creates have reached the venues (or were lost)
    for task in asyncio.all_tasks():
        if task.get_name().startswith("trade "):
            task.cancel()
    await asyncio.sleep(0)


async def _eventually(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_a_run_killed_after_the_intent_is_reconciled_at_start(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    mexc.hang = gate.hang = 1  # both orders are placed; their answers never come
    await _die_mid_trade(ledger, mexc, gate)
    (before,) = await rows(ledger, "SELECT state FROM intents")
    assert before["state"] == "pending"
    assert {o["status"] for o in await rows(ledger, "SELECT status FROM orders")} == {"sending"}

    # the next start: the same accounts, queried fresh by client order id
    done = await reconcile(ledger, {mexc.id: mexc, gate.id: gate})
    assert [(r.state, r.needs_operator) for r in done] == [(IntentState.SETTLED, False)]
    assert mexc.creates == gate.creates == 1  # looked up, never resent
    (intent,) = await rows(ledger, "SELECT state, expected_profit FROM intents")
    assert intent["state"] == "settled"
    orders = await rows(ledger, "SELECT status, amount, filled FROM orders")
    assert [o["status"] for o in orders] == ["closed"] * 2
    assert all(D(str(o["filled"])) == D(str(o["amount"])) for o in orders)  # as sent, in full
    (trade,) = await rows(ledger, "SELECT realized_pnl FROM trades")
    assert D(str(trade["realized_pnl"])) == D(intent["expected_profit"])
    assert len(await rows(ledger, "SELECT * FROM fills")) == 2
    assert await reconcile(ledger, {mexc.id: mexc, gate.id: gate}) == []  # nothing left


async def test_one_leg_found_at_start_trips_the_breaker(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    mexc.hang, gate.lose = 1, 1  # the buy was placed, the sell never arrived
    await _die_mid_trade(ledger, mexc, gate)

    restarted = await prepare({mexc.id: mexc, gate.id: gate}, ledger, settings(), ["BTC/USDT"])
    assert restarted.guard.tripped is not None
    assert "left by an earlier run" in restarted.guard.tripped
    (intent,) = await rows(ledger, "SELECT state, reason FROM intents")
    assert intent["state"] == "one_legged"
    statuses = sorted(o["status"] for o in await rows(ledger, "SELECT status FROM orders"))
    assert statuses == ["closed", "rejected"]  # the lost sell: the venue never had it
    outcome = await restarted.execute(opportunity(mexc.book, gate.book))
    assert outcome.state is IntentState.SKIPPED


async def test_trading_session_closes_cleanly_and_honours_the_kill_file(
    ledger: Ledger, tmp_path: Path
) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    kill = tmp_path / "KILL"
    kill.touch()
    config = settings(kill_switch_path=kill, kill_poll_s=0.01)
    async with trading(
        {mexc.id: mexc, gate.id: gate}, ledger, config, ["BTC/USDT"], signals=False
    ) as ex:
        await _eventually(lambda: ex.guard.kill_file)
        outcome = await ex.execute(opportunity(mexc.book, gate.book))
        assert outcome.state is IntentState.SKIPPED
        assert "kill switch file" in str(outcome.reason)
        kill.unlink()
        await _eventually(lambda: not ex.guard.kill_file)
        assert (await ex.execute(opportunity(mexc.book, gate.book))).state is IntentState.SETTLED
    assert ex.guard.stopping


async def test_report_sums_trades_fees_one_legged_and_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    log: list[str] = []
    mexc, gate = pair(log)
    ex = await executor((mexc, gate), ledger, settings(max_consecutive_failures=1))
    good = await ex.execute(opportunity(mexc.book, gate.book))
    gate.reject = 1
    bad = await ex.execute(opportunity(mexc.book, gate.book))  # one-legged: trips the breaker
    ledger.close()

    assert report(tmp_path / "l.sqlite", as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["trades"] == 2
    assert data["totals"]["one_legged"] == 1
    assert D(data["totals"]["pnl"]) == good.pnl + bad.pnl
    assert D(data["totals"]["fees"]) == good.fees + bad.fees
    assert data["totals"]["breaker_trips"] == 1
    (symbol,) = data["by_symbol"]
    assert (symbol["symbol"], symbol["trades"], symbol["one_legged"]) == ("BTC/USDT", 2, 1)
    venues = {v["venue"]: v for v in data["by_venue"]}
    assert venues["mexc"]["orders"] == 3  # buy, buy, unwind sell
    assert venues["gateio"]["rejected"] == 1
    # per-venue fees in quote add up to the trades' fees
    assert D(venues["mexc"]["fees"]) + D(venues["gateio"]["fees"]) == good.fees + bad.fees

    assert report(tmp_path / "l.sqlite", as_json=False) == 0
    text = capsys.readouterr().out
    assert "P&L by symbol" in text
    assert "one-legged" in text
    assert report(tmp_path / "missing.sqlite", as_json=True) == 1


async def test_sigusr1_kills_and_sigterm_stops_trading(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    ex = await executor((mexc, gate), ledger, settings())
    stopped: list[bool] = []
    undo = install_signals(ex.guard, lambda: stopped.append(True))
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        await _eventually(lambda: ex.guard.killed is not None)
        os.kill(os.getpid(), signal.SIGTERM)
        await _eventually(lambda: bool(stopped))
    finally:
        undo()
    assert ex.guard.killed == "SIGUSR1"
    assert ex.guard.stopping
    assert (await ex.execute(opportunity(mexc.book, gate.book))).state is IntentState.SKIPPED
    assert log == []
