"""Pure parts of execution: sizing caps, the policy's bounded prices, and the paper wallet."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from exec_fakes import GATE_BTC, MEXC_BTC, gate_book, mexc_book, opportunity
from hypothesis import given
from hypothesis import strategies as st

from arb.domain.book import OrderBook
from arb.domain.opportunity import find_opportunity
from arb.errors import InsufficientFunds, OrderRejected
from arb.execution.executor import Executor, IntentState
from arb.execution.paper import PaperVenue, paper_venues
from arb.execution.policy import bounded_price, tradable
from arb.execution.risk import RiskGuard
from arb.execution.settings import ExecutionSettings
from arb.execution.sizing import Plan, Room, Skip, size_trade
from arb.ledger import Ledger
from arb.venues.adapter import OrderStatus

D = Decimal
OPP = opportunity(mexc_book(), gate_book())
money = st.decimals(min_value=D(0), max_value=D(5000), places=4, allow_nan=False)


def room(**changes: Decimal) -> Room:
    values = {
        "quote_free": D(1000),
        "base_free": D(1),
        "max_notional": D(100),
        "exposure_room": D(200),
        "min_profit": D("0.1"),
        "min_profit_pct": D(0),
    }
    values.update(changes)
    return Room(**values)


@given(quote=money, base=st.decimals(min_value=D(0), max_value=D(1), places=6), cap=money)
def test_a_plan_never_exceeds_balances_limits_or_steps(
    quote: Decimal, base: Decimal, cap: Decimal
) -> None:
    plan = size_trade(
        OPP, MEXC_BTC, GATE_BTC, room(quote_free=quote, base_free=base, max_notional=cap)
    )
    if isinstance(plan, Skip):
        return
    assert plan.sell_amount <= OPP.amount
    assert plan.buy_amount * plan.buy_price * (1 + MEXC_BTC.taker_fee) <= quote
    assert plan.sell_amount <= base
    assert plan.notional <= cap
    assert plan.sell_amount % D("0.000001") == 0
    assert plan.buy_amount % D("0.000001") == 0
    # MEXC keeps its fee in BTC: the coins it delivers cover the sell, short of one step more
    received = plan.buy_amount * (1 - MEXC_BTC.taker_fee)
    assert plan.sell_amount <= received < plan.sell_amount + MEXC_BTC.amount_step
    assert plan.sell_amount * plan.sell_price >= GATE_BTC.min_notional  # Gate's 3 USDT
    # never priced beyond the opportunity's own walk
    assert plan.buy_price <= OPP.buy_limit_price
    assert plan.sell_price >= OPP.sell_limit_price
    assert plan.legs.expected_net >= D("0.1")
    assert plan.legs.worst_net >= 0


def test_the_full_opportunity_is_planned_when_nothing_binds() -> None:
    # Without a fee in base the plan is the opportunity itself, walked again.
    buy, sell = replace(MEXC_BTC, buy_fee_in_base=False), replace(GATE_BTC, buy_fee_in_base=False)
    plan = size_trade(OPP, buy, sell, room(max_notional=D(1000)))
    assert isinstance(plan, Plan)
    legs = plan.legs
    assert (legs.buy_amount, legs.sell_amount) == (OPP.amount, OPP.amount)
    assert (legs.buy_limit_price, legs.sell_limit_price) == (
        OPP.buy_limit_price,
        OPP.sell_limit_price,
    )
    assert (legs.buy_cost, legs.sell_proceeds) == (OPP.buy_cost, OPP.sell_proceeds)
    assert legs.expected_net == OPP.net_profit
    assert legs.worst_net == OPP.amount * OPP.sell_limit_price * (1 - D("0.002")) - (
        OPP.amount * OPP.buy_limit_price * (1 + D("0.0005"))
    )


# Issue 13's case: a cross over three MEXC ask levels and two Gate bid levels.
CUT_MEXC = OrderBook(
    "mexc",
    "BTC/USDT",
    ((49990.0, 1.0),),
    ((50000.0, 0.05), (50010.0, 0.1), (50100.0, 0.2)),
    None,
    None,
    0.0,
)
CUT_GATE = OrderBook(
    "gateio", "BTC/USDT", ((50300.0, 0.1), (50250.0, 0.2)), ((50310.0, 1.0),), None, None, 0.0
)


def test_a_trade_cut_down_by_a_limit_is_priced_on_its_own_walk() -> None:
    opp = opportunity(CUT_MEXC, CUT_GATE, max_notional="20000")
    # Every unit earns down to the last bid: 0.3 BTC, buy limit 50100, sell limit 50250.
    assert (opp.amount, opp.buy_limit_price, opp.sell_limit_price) == (
        D("0.3"),
        D("50100"),
        D("50250"),
    )
    # At those limits 0.003992 BTC nets 0.003992 * (50250 * 0.998 - 50100 * 1.0005) = 0.0976:
    # below min_profit. At its own size it stays inside the best level on each side.
    plan = size_trade(opp, MEXC_BTC, GATE_BTC, room(max_notional=D(20000), min_profit=D("0.5")))
    assert isinstance(plan, Plan)
    legs = plan.legs
    # 200 USDT of exposure room at the walk's 50100 limit: 0.003992 BTC sold; MEXC keeps
    # 0.05 % of the coins it delivers, so 0.003994 is bought (0.003994 * 0.9995 = 0.003992003).
    assert (legs.sell_amount, legs.buy_amount) == (D("0.003992"), D("0.003994"))
    assert (legs.buy_limit_price, legs.sell_limit_price) == (D("50000"), D("50300"))
    assert legs.buy_cost == D("199.7")  # 0.003994 * 50000
    assert legs.sell_proceeds == D("200.7976")  # 0.003992 * 50300
    assert legs.left_over == D("0.000000003")
    # 200.7976 - 0.4015952 (Gate's fee) - 199.7 + 0.000000003 * 50000 (coins left over)
    assert legs.expected_net == D("0.6961548")
    assert legs.worst_net == D("0.6961548")  # one level each side: the limits are the prices
    assert legs.fees == D("0.09985") + D("0.4015952")  # MEXC's in BTC at 50000, Gate's


def test_the_worst_case_at_the_limit_prices_is_bounded() -> None:
    # Found at no fees (the account's fee is only known to execution), over two ask levels:
    # filled as walked the trade earns, but with every unit at the limits it loses.
    buy = OrderBook(
        "mexc", "BTC/USDT", ((49000.0, 1.0),), ((50000.0, 0.001), (50400.0, 1.0)), None, None, 0.0
    )
    sell = OrderBook("gateio", "BTC/USDT", ((50500.0, 0.002),), ((50600.0, 1.0),), None, None, 0.0)
    free = {m.venue: replace(m, taker_fee=D(0)) for m in (MEXC_BTC, GATE_BTC)}
    opp = find_opportunity(
        buy, sell, free["mexc"], free["gateio"], max_notional=D(1000), min_profit=D(0)
    )
    assert opp is not None
    assert opp.amount == D("0.002")
    quote_fee = replace(MEXC_BTC, buy_fee_in_base=False)
    # expected: 101 - 0.202 - (50 + 50.4) - 0.0502 = 0.3478
    # worst: 0.002 * 50500 * 0.998 - 0.002 * 50400 * 1.0005 = 100.798 - 100.85040 = -0.0524
    skipped = size_trade(opp, quote_fee, GATE_BTC, room(max_notional=D(1000)))
    assert skipped == Skip(
        "worst case at the limit prices -0.052400 is a loss beyond max_worst_case_loss 0"
    )
    allowed = room(max_notional=D(1000), max_worst_case_loss=D("0.06"))
    plan = size_trade(opp, quote_fee, GATE_BTC, allowed)
    assert isinstance(plan, Plan)
    assert (plan.legs.expected_net, plan.legs.worst_net) == (D("0.3478"), D("-0.0524"))


@pytest.mark.parametrize(
    ("reference", "side", "expected"),
    [
        (D("45995.48"), "sell", D("45765.6")),  # 45765.502... rounded up: never below the bound
        (D("45995.48"), "buy", D("46225.4")),  # 46225.457... rounded down: never above it
    ],
)
def test_bounded_prices_stay_inside_the_slippage_bound(
    reference: Decimal, side: str, expected: Decimal
) -> None:
    assert bounded_price(reference, side, D("0.5"), D("0.1")) == expected


def test_dust_below_the_venue_minimum_is_not_tradable() -> None:
    assert tradable(D("0.0000019"), D(46000), MEXC_BTC) == 0  # 0.087 USDT < 1 USDT
    assert tradable(D("0.0000669"), D(46000), GATE_BTC) == D("0.000066")  # 3.036 USDT
    assert tradable(D("0.0000659"), D(46000), GATE_BTC) == 0  # truncated: 2.99 < 3 USDT


def paper(balances: dict[str, str]) -> PaperVenue:
    snapshot = mexc_book()
    return PaperVenue(
        "mexc",
        market=lambda symbol: MEXC_BTC,
        book=lambda symbol: snapshot,
        balances={k: D(v) for k, v in balances.items()},
        clock_ms=lambda: 1_704_908_526_228,
    )


async def test_paper_fills_at_book_prices_up_to_the_limit_and_moves_balances() -> None:
    wallet = paper({"USDT": "100000", "BTC": "0"})
    # asks: 0.4 at 45995.48, 0.6 at 45996; a limit of 45996 takes both, 1.5 is wanted
    order = await wallet.create_order("BTC/USDT", "buy", D("1.5"), D("45996"), "arbp1")
    assert order.status is OrderStatus.CANCELED  # the IOC rest is canceled, as venues say
    assert order.filled == D("1.0")
    assert order.cost == D("0.4") * D("45995.48") + D("0.6") * D("45996")
    assert wallet.free["BTC"] == D("1.0") * (1 - D("0.0005"))
    assert wallet.free["USDT"] == D(100000) - order.cost
    # the same snapshot has no more liquidity at those prices
    again = await wallet.create_order("BTC/USDT", "buy", D("0.1"), D("45996"), "arbp2")
    assert again.filled == 0
    assert await wallet.fetch_order("BTC/USDT", client_order_id="arbp1") == order
    assert await wallet.fetch_order("BTC/USDT", client_order_id="arbnever") is None


async def test_paper_refuses_what_a_venue_refuses() -> None:
    wallet = paper({"USDT": "10", "BTC": "0"})
    with pytest.raises(InsufficientFunds):
        await wallet.create_order("BTC/USDT", "buy", D("0.001"), D("45995.48"), "arbp3")
    with pytest.raises(OrderRejected):  # 0.00001 BTC is 0.46 USDT: below MEXC's 1 USDT
        await wallet.create_order("BTC/USDT", "buy", D("0.00001"), D("45995.48"), "arbp4")
    with pytest.raises(InsufficientFunds):
        await wallet.create_order("BTC/USDT", "sell", D("0.001"), D("45995.47"), "arbp5")
    assert wallet.orders == {}
    assert wallet.free == {"USDT": D(10), "BTC": D(0)}


async def test_a_paper_trade_runs_the_executor_and_moves_only_paper_balances(
    ledger: Ledger,
) -> None:
    books = {"mexc": mexc_book(), "gateio": gate_book()}
    markets = {"mexc": MEXC_BTC, "gateio": GATE_BTC}
    wallets = paper_venues(
        {v: (lambda symbol, m=m: m) for v, m in markets.items()},
        {v: {"USDT": D(1000), "BTC": D("0.01")} for v in markets},
        lambda venue, symbol: books[venue],
    )
    config = ExecutionSettings(min_profit=D("0.1"), settle_delay_s=0, kill_switch_path=None)
    ex = Executor(wallets, ledger, config, await RiskGuard.load(ledger, config))
    outcome = await ex.execute(OPP)
    assert outcome.state is IntentState.SETTLED
    (intent,) = await ledger.query("SELECT expected_profit FROM intents")
    assert outcome.pnl == D(intent["expected_profit"])
    bought, sold = outcome.bought, outcome.sold
    assert wallets["mexc"].free["BTC"] == D("0.01") + bought * (1 - D("0.0005"))
    assert wallets["gateio"].free["BTC"] == D("0.01") - sold
