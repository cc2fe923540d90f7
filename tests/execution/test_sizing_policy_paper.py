"""Pure parts of execution: sizing caps, the policy's bounded prices, and the paper wallet."""

from __future__ import annotations

from decimal import Decimal

import pytest
from exec_fakes import GATE_BTC, MEXC_BTC, gate_book, mexc_book, opportunity
from hypothesis import given
from hypothesis import strategies as st

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
    assert plan.amount <= OPP.amount
    assert plan.amount * plan.buy_price * (1 + MEXC_BTC.taker_fee) <= quote
    assert plan.amount <= base
    assert plan.notional <= cap
    assert plan.amount % D("0.000001") == 0
    assert plan.amount * plan.buy_price >= GATE_BTC.min_notional  # Gate's 3 USDT, the larger
    assert plan.worst_profit >= D("0.1")


def test_the_full_opportunity_is_planned_when_nothing_binds() -> None:
    plan = size_trade(OPP, MEXC_BTC, GATE_BTC, room())
    assert plan == Plan(
        amount=OPP.amount,
        buy_price=OPP.buy_limit_price,
        sell_price=OPP.sell_limit_price,
        worst_profit=OPP.amount * OPP.sell_limit_price * (1 - D("0.002"))
        - OPP.amount * OPP.buy_limit_price * (1 + D("0.0005")),
    )


def test_exposure_room_and_min_profit_pct_bind() -> None:
    assert size_trade(OPP, MEXC_BTC, GATE_BTC, room(exposure_room=D(0))) == Skip(
        "no room: exposure room allows nothing"
    )
    skipped = size_trade(OPP, MEXC_BTC, GATE_BTC, room(min_profit_pct=D(1)))
    assert isinstance(skipped, Skip)
    assert "min_profit_pct" in skipped.reason


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
    assert outcome.pnl == OPP.net_profit
    assert wallets["mexc"].free["BTC"] == D("0.01") + OPP.amount * (1 - D("0.0005"))
    assert wallets["gateio"].free["USDT"] == D(1000) + OPP.sell_proceeds - OPP.sell_fee
