"""The executor with the real adapter and ccxt's signed requests against the loopback simulator."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from exec_fakes import rows, settings

from arb.config import Secret, VenueSettings
from arb.domain.opportunity import Opportunity, find_opportunity
from arb.domain.rounding import round_down
from arb.execution.executor import Executor, IntentState
from arb.execution.reconcile import reconcile
from arb.execution.risk import RiskGuard
from arb.execution.settings import ExecutionSettings, Policy
from arb.ledger import Ledger
from arb.sim import Fault, FaultKind, Simulator, load_scenario
from arb.venues import Venue

D = Decimal
SYMBOL = "BTC/USDT"
CREATE = {"mexc": ("POST", "/api/v3/order"), "gateio": ("POST", "/api/v4/spot/orders")}
BALANCE = {"mexc": ("GET", "/api/v3/account"), "gateio": ("GET", "/api/v4/spot/accounts")}


@asynccontextmanager
async def world() -> AsyncIterator[tuple[Simulator, dict[str, Venue]]]:
    """The default scenario with still books and both adapters on it, markets loaded."""
    scenario = dataclasses.replace(load_scenario(), walk=None)
    async with Simulator(scenario) as sim:
        venues: dict[str, Venue] = {}
        try:
            for venue_id in ("mexc", "gateio"):
                venue = Venue(
                    VenueSettings(
                        id=venue_id,
                        rest_url=sim.rest_url(venue_id),
                        ws_url=sim.ws_url(venue_id),
                        api_key=Secret(scenario.api_key),
                        api_secret=Secret(scenario.api_secret),
                    )
                )
                venues[venue_id] = venue
                await venue.load_markets()
            # MEXC's ask is below Gate's bid by more than both taker fees.
            sim.replace_book(
                "mexc", SYMBOL, ((D(60000), D(1)),), ((D(60010), D("0.5")), (D(60020), D(1)))
            )
            sim.replace_book(
                "gateio", SYMBOL, ((D(60300), D("0.5")), (D(60200), D(1))), ((D(60310), D(1)),)
            )
            yield sim, venues
        finally:
            for venue in venues.values():
                await venue.close()
    assert sim.crashes == []


async def seen(venues: dict[str, Venue]) -> Opportunity:
    """The opportunity in the venues' current books, read through the adapter."""
    buy = await venues["mexc"].fetch_order_book(SYMBOL, 5)
    sell = await venues["gateio"].fetch_order_book(SYMBOL, 5)
    opp = find_opportunity(
        buy,
        sell,
        venues["mexc"].market(SYMBOL),
        venues["gateio"].market(SYMBOL),
        max_notional=D(100),
        min_profit=D("0.1"),
    )
    assert opp is not None
    return opp


async def executor(
    venues: dict[str, Venue], ledger: Ledger, config: ExecutionSettings | None = None
) -> Executor:
    # Trades here follow each other at once, so MEXC's two account reads a second make a
    # later trade's balances wait; these tests are not about an opportunity's age.
    config = config or settings(settle_delay_s=0.05, max_opportunity_age_s=5.0)
    return Executor(venues, ledger, config, await RiskGuard.load(ledger, config))


def requests(sim: Simulator, since: int = 0) -> list[tuple[str, str, str]]:
    """(venue, method, path) of every REST request since entry `since`."""
    return [
        (e["venue"], e["method"], e["path"]) for e in sim.log.entries[since:] if e["kind"] == "http"
    ]


def creates(sim: Simulator, venue: str) -> int:
    return requests(sim).count((venue, *CREATE[venue]))


def free(sim: Simulator, venue: str) -> dict[str, Decimal]:
    return dict(sim.state(venue).free)


async def _eventually(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_happy_path_on_the_simulator(ledger: Ledger) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        mark = len(sim.log.entries)  # the opportunity was seen here
        start = {v: free(sim, v) for v in venues}
        ex = await executor(venues, ledger)
        for venue_id in venues:  # slow answers: both creates must be out before either is done
            sim.inject(Fault(FaultKind.DELAY, venue_id, duration_ms=10_000, delay_ms=150))
        outcome = await ex.execute(opp)
        after = {v: free(sim, v) for v in venues}
        log = [e for e in sim.log.entries[mark:] if e["kind"] in ("http", "order")]

    assert outcome.state is IntentState.SETTLED
    step = venues["mexc"].market(SYMBOL).amount_step
    # The MEXC buy was grossed up for the fee MEXC takes in BTC: both venues together hold
    # the BTC they held before, plus less than one step of the coins it delivered.
    assert outcome.bought > outcome.sold
    btc = sum(after[v]["BTC"] - start[v]["BTC"] for v in venues)
    assert 0 <= btc < step
    calls = [
        (e["venue"], e["method"], e["path"]) if e["kind"] == "http" else (e["venue"], "order")
        for e in log
    ]
    first_create = min(calls.index((v, *CREATE[v])) for v in venues)
    assert max(calls.index((v, *BALANCE[v])) for v in venues) < first_create
    first_fill = min(i for i, c in enumerate(calls) if c[1] == "order")
    assert max(calls.index((v, *CREATE[v])) for v in venues) < first_fill
    assert calls.count(("mexc", *CREATE["mexc"])) == calls.count(("gateio", *CREATE["gateio"])) == 1

    orders = {o["exchange"]: o for o in await rows(ledger, "SELECT * FROM orders")}
    buy, sell = orders["mexc"], orders["gateio"]
    assert (buy["status"], sell["status"]) == ("closed", "closed")
    # the ledger and the simulator's balances agree to the last digit
    assert after["mexc"]["USDT"] - start["mexc"]["USDT"] == -D(str(buy["cost"]))
    assert buy["fee_currency"] == "BTC"
    assert after["mexc"]["BTC"] - start["mexc"]["BTC"] == D(str(buy["filled"])) - D(str(buy["fee"]))
    assert sell["fee_currency"] == "USDT"
    assert after["gateio"]["USDT"] - start["gateio"]["USDT"] == D(str(sell["cost"])) - D(
        str(sell["fee"])
    )
    assert after["gateio"]["BTC"] - start["gateio"]["BTC"] == -D(str(sell["filled"]))
    (trade,) = await rows(ledger, "SELECT * FROM trades")
    (intent,) = await rows(ledger, "SELECT * FROM intents")
    assert D(str(trade["realized_pnl"])) == D(intent["expected_profit"])


@pytest.mark.parametrize("policy", [Policy.UNWIND, Policy.HEDGE])
async def test_rejected_leg_runs_the_policy_and_ends_flat(ledger: Ledger, policy: Policy) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        start = {v: free(sim, v) for v in venues}
        sim.inject(Fault(FaultKind.REJECT_NEXT_ORDER, "gateio"))
        ex = await executor(venues, ledger, settings(settle_delay_s=0.05, policy=policy))
        outcome = await ex.execute(opp)
        after = {v: free(sim, v) for v in venues}

    assert outcome.state is IntentState.ONE_LEGGED
    btc = sum(after[v]["BTC"] - start[v]["BTC"] for v in venues)
    # flat: the coins MEXC delivered closed to its step (MEXC's fee was bought up front)
    assert 0 <= btc < venues["mexc"].market(SYMBOL).amount_step
    roles = [
        (o["exchange"], o["role"], o["status"])
        for o in await rows(ledger, "SELECT * FROM orders ORDER BY created_at_ms, rowid")
    ]
    fixer = (
        ("mexc", "unwind", "closed") if policy is Policy.UNWIND else ("gateio", "hedge", "closed")
    )
    assert roles == [("mexc", "leg", "closed"), ("gateio", "leg", "rejected"), fixer]


async def test_partly_filled_leg_is_unwound_to_flat(ledger: Ledger) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        # the bid is mostly gone before our sell arrives: only 0.0005 fills at the limit
        sim.replace_book(
            "gateio", SYMBOL, ((D(60300), D("0.0005")), (D(59000), D(1))), ((D(60310), D(1)),)
        )
        start = {v: free(sim, v) for v in venues}
        outcome = await (await executor(venues, ledger)).execute(opp)
        after = {v: free(sim, v) for v in venues}

    assert outcome.state is IntentState.ONE_LEGGED
    legs = {(leg.order.venue, leg.order.role): leg for leg in outcome.orders}
    assert legs[("gateio", "leg")].filled == D("0.0005")
    received = legs[("mexc", "leg")].base_change(venues["mexc"].market(SYMBOL))
    step = venues["mexc"].market(SYMBOL).amount_step
    assert legs[("mexc", "unwind")].filled == round_down(received - D("0.0005"), step)
    btc = sum(after[v]["BTC"] - start[v]["BTC"] for v in venues)
    assert 0 <= btc < step


async def test_5xx_after_placement_is_found_by_client_id_not_resent(ledger: Ledger) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        sim.inject(Fault(FaultKind.HTTP_5XX_AFTER_PLACE, "mexc"))
        outcome = await (await executor(venues, ledger)).execute(opp)
        sent = creates(sim, "mexc")
        placed = len(sim.state("mexc").orders)

    assert outcome.state is IntentState.SETTLED
    assert (sent, placed) == (1, 1)
    assert outcome.bought == opp.amount


async def test_short_balance_and_minimums_send_no_order(ledger: Ledger) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        ex = await executor(venues, ledger)
        sim.state("gateio").free["BTC"] = D(0)
        no_btc = await ex.execute(opp)
        sim.state("gateio").free["BTC"] = D(1)
        sim.state("mexc").free["USDT"] = D(2)  # buys less than Gate's 3 USDT minimum
        too_small = await ex.execute(opp)
        sent = creates(sim, "mexc") + creates(sim, "gateio")

    assert no_btc.state is too_small.state is IntentState.SKIPPED
    assert "BTC on gateio" in str(no_btc.reason)
    assert "gateio's minimum 3" in str(too_small.reason)
    assert sent == 0
    reasons = [
        r["reason"]
        for r in await rows(ledger, "SELECT reason FROM intents WHERE state = 'skipped'")
    ]
    assert reasons == [no_btc.reason, too_small.reason]


async def test_breaker_trips_after_failures_and_the_kill_switch_stops_trading(
    ledger: Ledger,
) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        for venue_id in venues:
            sim.inject(Fault(FaultKind.REJECT_NEXT_ORDER, venue_id, count=2))
        ex = await executor(
            venues,
            ledger,
            settings(settle_delay_s=0.05, max_consecutive_failures=2, max_opportunity_age_s=5.0),
        )
        states = [(await ex.execute(opp)).state for _ in range(3)]
        sent = creates(sim, "mexc")
        # a fresh start keeps the trip; the kill switch stops a healthy executor too
        tripped = (await RiskGuard.load(ledger, settings())).tripped
        await ledger.write(("DELETE FROM breaker_events", ()))
        healthy = await executor(venues, ledger)
        healthy.guard.kill("SIGUSR1")
        mark = len(sim.log.entries)
        killed = await healthy.execute(opp)
        after_kill = requests(sim, mark)

    assert states == [IntentState.FAILED, IntentState.FAILED, IntentState.SKIPPED]
    assert sent == 2
    assert tripped is not None
    assert "2 failed or one-legged trades in a row" in tripped
    assert killed.state is IntentState.SKIPPED
    assert after_kill == []


async def test_a_run_killed_mid_trade_is_reconciled_by_the_next_start(ledger: Ledger) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        for venue_id in venues:  # answers take long enough to die while waiting for them
            sim.inject(Fault(FaultKind.DELAY, venue_id, duration_ms=10_000, delay_ms=300))
        ex = await executor(venues, ledger)
        assert ex.submit(opp)
        await _eventually(
            lambda: (
                {e["venue"] for e in sim.log.entries if e["kind"] == "order"} == {"mexc", "gateio"}
            )
        )
        for task in asyncio.all_tasks():
            if task.get_name().startswith("trade "):
                task.cancel()  # the process dies with both orders placed, nothing settled
        await asyncio.sleep(0)
        (pending,) = await rows(ledger, "SELECT state FROM intents")
        done = await reconcile(ledger, venues)
        sent = (creates(sim, "mexc"), creates(sim, "gateio"))

    assert pending["state"] == "pending"
    assert [(r.state, r.needs_operator) for r in done] == [(IntentState.SETTLED, False)]
    assert sent == (1, 1)
    orders = await rows(ledger, "SELECT status, amount, filled FROM orders")
    # each leg filled in full what was sent (the buy grossed up for MEXC's fee in BTC)
    assert [o["status"] for o in orders] == ["closed"] * 2
    assert all(D(str(o["filled"])) == D(str(o["amount"])) for o in orders)
    (trade,) = await rows(ledger, "SELECT realized_pnl FROM trades")
    (intent,) = await rows(ledger, "SELECT expected_profit FROM intents")
    assert D(str(trade["realized_pnl"])) == D(intent["expected_profit"])


async def test_secrets_never_reach_the_ledger(ledger: Ledger) -> None:
    async with world() as (sim, venues):
        opp = await seen(venues)
        secret = "wrong-secret-5f1d8a"
        bad = Venue(
            VenueSettings(
                id="gateio",
                rest_url=sim.rest_url("gateio"),
                api_key=Secret(sim.scenario.api_key),
                api_secret=Secret(secret),
            )
        )
        try:
            await bad.load_markets()
            ex = await executor({"mexc": venues["mexc"], "gateio": bad}, ledger)
            outcome = await ex.execute(opp)
        finally:
            await bad.close()
        key = sim.scenario.api_key

    assert outcome.state is IntentState.SKIPPED
    assert "cannot size: gateio: AuthenticationError" in str(outcome.reason)
    dump = "\n".join(await asyncio.to_thread(ledger.call, lambda conn: list(conn.iterdump())))
    assert secret not in dump
    assert key not in dump
