"""The executor against in-test venues with real balances and books: ledger, balances, orders."""

from __future__ import annotations

import time
from decimal import Decimal

from exec_fakes import MEXC_BTC, SYMBOL, D, executor, opportunity, pair, rows, settings

from arb.execution.executor import IntentState
from arb.execution.settings import Policy
from arb.ledger import Ledger

# What the pair's cross sizes to at the default 100 USDT: see the happy path.
BOUGHT, SOLD, RECEIVED = D("0.002174"), D("0.002172"), D("0.002172913")


async def test_happy_path_trades_both_legs_and_books_the_profit(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    opp = opportunity(mexc.book, gate.book)
    ex = await executor((mexc, gate), ledger, settings())
    log.append("seen")
    outcome = await ex.execute(opp)

    assert outcome.state is IntentState.SETTLED
    # 100 USDT buys 0.002174 BTC at 45995.48; MEXC keeps 0.05 % of the coins, so the buy is
    # grossed up: 0.002174 * 0.9995 = 0.002172913 covers the 0.002172 sold (0.002173 would
    # need 0.002175, 100.04 USDT, over max_notional).
    assert (outcome.bought, outcome.sold) == (BOUGHT, SOLD)
    assert BOUGHT * (1 - MEXC_BTC.taker_fee) == RECEIVED
    # Filled at the books' prices, so the realised P&L is exactly the sized plan's expected net.
    (intent,) = await rows(ledger, "SELECT * FROM intents")
    assert outcome.pnl == D(intent["expected_profit"])
    assert mexc.free == {
        "USDT": D(1000) - D("0.002174") * D("45995.48"),
        "BTC": D("0.01") + D("0.002172913"),
    }
    assert gate.free == {
        "USDT": D(1000) + D("0.002172") * D("46300") * (1 - D("0.002")),
        "BTC": D("0.01") - D("0.002172"),
    }
    # The base holding across both venues is unchanged but for less than one amount step.
    assert D(0) <= mexc.free["BTC"] + gate.free["BTC"] - D("0.02") < MEXC_BTC.amount_step
    # Balances were fetched after the opportunity and before any order; both legs in flight at once.
    assert log[:3] == ["seen", "balance mexc", "balance gateio"]
    assert log[3:5] == ["create-start mexc buy", "create-start gateio sell"]
    assert [e for e in log if e.startswith("create")][2:] == [
        "create-end mexc buy",
        "create-end gateio sell",
    ]

    intents = await rows(ledger, "SELECT * FROM intents")
    assert len(intents) == 1
    assert intents[0]["state"] == "settled"
    assert intents[0]["cycle_ms"] is not None
    orders = await rows(ledger, "SELECT * FROM orders ORDER BY side")
    assert [(o["side"], o["role"], o["status"], D(str(o["filled"]))) for o in orders] == [
        ("buy", "leg", "closed", D("0.002174")),
        ("sell", "leg", "closed", D("0.002172")),
    ]
    assert orders[0]["fee_currency"] == "BTC"  # a buy pays its fee in the currency received
    fills = await rows(ledger, "SELECT * FROM fills")
    assert len(fills) == 2
    (trade,) = await rows(ledger, "SELECT * FROM trades")
    assert D(str(trade["realized_pnl"])) == outcome.pnl
    # MEXC's fee in BTC valued at the fill price, Gate's in USDT
    assert D(str(trade["fees"])) == D("0.002174") * D("0.0005") * D("45995.48") + D("0.002172") * D(
        "46300"
    ) * D("0.002")
    assert trade["one_legged"] == 0


async def test_mexc_create_without_fills_is_settled_from_a_fresh_query(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    mexc.mexc_style = True
    opp = opportunity(mexc.book, gate.book)
    outcome = await (await executor((mexc, gate), ledger, settings())).execute(opp)
    assert outcome.state is IntentState.SETTLED
    assert outcome.bought == opp.amount
    assert "query mexc" in log


async def test_short_quote_balance_limits_the_amount(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log, mexc={"USDT": "60", "BTC": "0"})
    opp = opportunity(mexc.book, gate.book)
    outcome = await (await executor((mexc, gate), ledger, settings())).execute(opp)
    assert outcome.state is IntentState.SETTLED
    assert outcome.bought < opp.amount
    # 60 USDT at the limit price plus the fee, truncated to the common step
    assert outcome.bought == D("0.001303")
    assert mexc.free["USDT"] >= 0


async def test_insufficient_balance_skips_without_orders(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log, gate={"USDT": "0", "BTC": "0"})
    opp = opportunity(mexc.book, gate.book)
    outcome = await (await executor((mexc, gate), ledger, settings())).execute(opp)
    assert outcome.state is IntentState.SKIPPED
    assert mexc.creates == gate.creates == 0
    (intent,) = await rows(ledger, "SELECT * FROM intents")
    assert intent["state"] == "skipped"
    assert "BTC on gateio" in str(intent["reason"])
    assert await rows(ledger, "SELECT * FROM orders") == []


async def test_below_venue_minimum_skips_with_the_reason(ledger: Ledger) -> None:
    log: list[str] = []
    # 2 USDT buys less than Gate's 3 USDT minimum notional
    mexc, gate = pair(log, mexc={"USDT": "2", "BTC": "0"})
    opp = opportunity(mexc.book, gate.book)
    outcome = await (await executor((mexc, gate), ledger, settings())).execute(opp)
    assert outcome.state is IntentState.SKIPPED
    assert "gateio's minimum 3" in str(outcome.reason)
    assert mexc.creates == gate.creates == 0


async def test_profit_below_min_at_limit_prices_skips(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    opp = opportunity(mexc.book, gate.book)
    outcome = await (await executor((mexc, gate), ledger, settings(min_profit=D(5)))).execute(opp)
    assert outcome.state is IntentState.SKIPPED
    assert "below min_profit" in str(outcome.reason)


async def test_rejected_sell_leg_is_unwound_to_flat(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    gate.reject = 1
    opp = opportunity(mexc.book, gate.book)
    outcome = await (await executor((mexc, gate), ledger, settings())).execute(opp)

    assert outcome.state is IntentState.ONE_LEGGED
    # bought on MEXC, the coins received sold back on MEXC at the best bid (inside the 0.5 %
    # bound): flat but for the 0.000000913 BTC below MEXC's step
    assert (outcome.bought, outcome.sold) == (BOUGHT, SOLD)
    assert mexc.free["BTC"] == D("0.01") + RECEIVED - SOLD
    unwind = outcome.orders[2]
    assert unwind.result is not None
    assert unwind.result.average == D("45995.47")
    assert gate.free == {"USDT": D(1000), "BTC": D("0.01")}
    orders = await rows(
        ledger, "SELECT exchange, side, role, status FROM orders ORDER BY created_at_ms, rowid"
    )
    assert [tuple(o.values()) for o in orders] == [
        ("mexc", "buy", "leg", "closed"),
        ("gateio", "sell", "leg", "rejected"),
        ("mexc", "sell", "unwind", "closed"),
    ]
    (trade,) = await rows(ledger, "SELECT * FROM trades")
    assert trade["one_legged"] == 1
    assert D(str(trade["realized_pnl"])) < 0  # a spread and two fees paid for nothing


async def test_partly_filled_sell_is_hedged_on_the_sell_venue(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    opp = opportunity(mexc.book, gate.book)
    # Before the sell arrives the top bid is gone but for 0.001; deeper bids sit 0.03 % lower.
    gate.book = gate.book.__class__(
        "gateio", SYMBOL, ((46300.0, 0.001), (46280.0, 1.0)), gate.book.asks, None, None, 0.0
    )
    config = settings(policy=Policy.HEDGE, max_slippage_pct=D("0.1"))
    outcome = await (await executor((mexc, gate), ledger, config)).execute(opp)

    assert outcome.state is IntentState.ONE_LEGGED
    assert (outcome.bought, outcome.sold) == (BOUGHT, SOLD)
    assert gate.free["BTC"] == D("0.01") - SOLD
    orders = await rows(
        ledger, "SELECT side, role, status, filled FROM orders ORDER BY created_at_ms, rowid"
    )
    assert [(o["side"], o["role"], o["status"]) for o in orders] == [
        ("buy", "leg", "closed"),
        ("sell", "leg", "canceled"),  # a partly filled IOC comes back canceled
        ("sell", "hedge", "closed"),
    ]
    assert D(str(orders[1]["filled"])) == D("0.001")


async def test_order_placed_then_5xx_is_found_by_client_id_not_resent(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    mexc.fail_after_place = 1
    mexc.missing_lookups = 1  # the venue needs a moment before the order is visible
    opp = opportunity(mexc.book, gate.book)
    outcome = await (await executor((mexc, gate), ledger, settings())).execute(opp)
    assert outcome.state is IntentState.SETTLED
    assert mexc.creates == 1
    assert len(mexc.orders) == 1
    assert outcome.bought == BOUGHT


async def test_timeout_on_create_is_looked_up_not_resent(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    gate.hang = 1
    opp = opportunity(mexc.book, gate.book)
    outcome = await (await executor((mexc, gate), ledger, settings(order_timeout_s=0.05))).execute(
        opp
    )
    assert outcome.state is IntentState.SETTLED
    assert gate.creates == 1
    assert outcome.sold == SOLD


async def test_order_never_found_halts_and_trips_the_breaker(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    gate.lose = 1
    opp = opportunity(mexc.book, gate.book)
    ex = await executor((mexc, gate), ledger, settings(settle_attempts=3))
    outcome = await ex.execute(opp)
    assert outcome.state is IntentState.HALTED
    assert gate.creates == 0
    (intent,) = await rows(ledger, "SELECT * FROM intents")
    assert intent["state"] == "halted"
    assert [e["kind"] for e in await rows(ledger, "SELECT kind FROM breaker_events")] == ["trip"]
    assert await rows(ledger, "SELECT * FROM trades") == []
    # no new trade while tripped: not even a balance request
    log.clear()
    again = await ex.execute(opportunity(mexc.book, gate.book))
    assert again.state is IntentState.SKIPPED
    assert "circuit breaker" in str(again.reason)
    assert log == []


async def test_breaker_trips_after_consecutive_failures_and_persists(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    mexc.reject = gate.reject = 3
    ex = await executor((mexc, gate), ledger, settings(max_consecutive_failures=3))
    states = [(await ex.execute(opportunity(mexc.book, gate.book))).state for _ in range(4)]
    assert states == [IntentState.FAILED] * 3 + [IntentState.SKIPPED]
    trips = await rows(ledger, "SELECT kind, reason FROM breaker_events")
    assert [t["kind"] for t in trips] == ["trip"]
    assert "3 failed or one-legged trades in a row" in str(trips[0]["reason"])
    # a restart remembers the trip
    restarted = await executor((mexc, gate), ledger, settings())
    assert restarted.guard.tripped is not None


async def test_kill_switch_stops_new_trades_at_once(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    ex = await executor((mexc, gate), ledger, settings())
    ex.guard.kill("SIGUSR1")
    outcome = await ex.execute(opportunity(mexc.book, gate.book))
    assert outcome.state is IntentState.SKIPPED
    assert "kill switch" in str(outcome.reason)
    assert log == []
    assert [e["kind"] for e in await rows(ledger, "SELECT kind FROM breaker_events")] == ["kill"]


async def test_daily_loss_limit_trips_the_breaker(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    gate.reject = 1  # one-legged: the unwind loses the spread and two fees
    ex = await executor((mexc, gate), ledger, settings(max_daily_loss=D("0.01")))
    outcome = await ex.execute(opportunity(mexc.book, gate.book))
    assert outcome.pnl < D("-0.01")
    (trip,) = await rows(ledger, "SELECT reason FROM breaker_events WHERE kind = 'trip'")
    assert "daily realised loss" in str(trip["reason"])


async def test_unhealthy_venue_trips_the_breaker(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    gate.balance_errors = 2
    ex = await executor((mexc, gate), ledger, settings(max_venue_errors=2))
    first = await ex.execute(opportunity(mexc.book, gate.book))
    second = await ex.execute(opportunity(mexc.book, gate.book))
    assert first.state is second.state is IntentState.SKIPPED
    assert "cannot size: gateio: HTTP 503" in str(first.reason)
    (trip,) = await rows(ledger, "SELECT reason FROM breaker_events WHERE kind = 'trip'")
    assert "gateio unhealthy" in str(trip["reason"])
    assert mexc.creates == gate.creates == 0


async def test_close_waits_for_the_trade_in_flight(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    ex = await executor((mexc, gate), ledger, settings())
    assert ex.submit(opportunity(mexc.book, gate.book))
    assert not ex.submit(opportunity(mexc.book, gate.book))  # one trade at a time
    await gate.in_flight.wait()
    await ex.close()
    (intent,) = await rows(ledger, "SELECT state FROM intents")
    assert intent["state"] == "settled"
    assert not ex.submit(opportunity(mexc.book, gate.book))  # closed: nothing new
    assert Decimal(0) < mexc.free["BTC"] - D("0.01")


async def test_close_before_a_submitted_trade_starts_sends_nothing(ledger: Ledger) -> None:
    log: list[str] = []
    mexc, gate = pair(log)
    ex = await executor((mexc, gate), ledger, settings())
    assert ex.submit(opportunity(mexc.book, gate.book))
    await ex.close()
    assert mexc.creates == gate.creates == 0
    assert await rows(ledger, "SELECT * FROM intents") == []


async def test_balances_that_come_too_late_skip_the_trade_without_orders(
    ledger: Ledger,
) -> None:
    # Fresh balances come 0.6 s after the opportunity was seen (a slow venue): the books it
    # was seen on have moved on meanwhile, so it is skipped, not sent to fill one leg.
    log: list[str] = []
    mexc, gate = pair(log)
    gate.balance_delay_s = 0.6
    opp = opportunity(mexc.book, gate.book)
    ex = await executor((mexc, gate), ledger, settings(max_opportunity_age_s=0.5))
    outcome = await ex.execute(opp)
    assert outcome.state is IntentState.SKIPPED
    assert mexc.creates == gate.creates == 0
    assert log.count(f"balance {gate.id}") == 1  # fresh balances were fetched
    (intent,) = await rows(ledger, "SELECT * FROM intents")
    assert intent["state"] == "skipped"
    assert str(intent["reason"]).startswith("stale: fresh balances came 6")
    assert str(intent["reason"]).endswith("(trading.max_opportunity_age_ms 500)")
    gate.balance_delay_s = 0.0  # the same opportunity, balances at once: traded
    assert (await ex.execute(opp)).state is IntentState.SETTLED


async def test_a_rate_limit_wait_past_the_age_bound_skips_before_reading_balances(
    ledger: Ledger,
) -> None:
    # MEXC's two account reads a second: right after a trade the next read would wait
    # 0.8 s. The trade is skipped at once; no read spends the budget the next one needs.
    log: list[str] = []
    mexc, gate = pair(log)
    mexc.rate_wait_s = 0.8
    opp = opportunity(mexc.book, gate.book)
    ex = await executor((mexc, gate), ledger, settings(max_opportunity_age_s=0.5))
    outcome = await ex.execute(opp, seen_at=time.monotonic() - 0.05)
    assert outcome.state is IntentState.SKIPPED
    assert [e for e in log if e.startswith("balance")] == []
    assert mexc.creates == gate.creates == 0
    assert "the balance reads would wait 800 ms for the rate limits" in str(outcome.reason)
    # Seen too long ago by itself: skipped the same way.
    mexc.rate_wait_s = 0.0
    old = await ex.execute(opp, seen_at=time.monotonic() - 0.9)
    assert str(old.reason).startswith("stale: seen 9")
    assert [e for e in log if e.startswith("balance")] == []
