"""find_opportunity against a brute force that prices every amount on the common step grid.

What is provable, and asserted: profit is concave in the amount (asks rise, bids fall), so
the finder's two candidates (the last step inside the earning units, and the next one) hold
the grid's best. Hence the finder returns exactly the reference's smallest most-profitable
amount, with the reference's profit to the last digit, or None exactly when the reference's
best amount fails a venue minimum or profit threshold (or nothing earns at all).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Context, Decimal, Inexact, localcontext

import pytest
from domain_markets import GATE_XRP, MEXC_XRP, book
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from arb.domain import opportunity
from arb.domain.book import Level, OrderBook
from arb.domain.opportunity import Opportunity, best_opportunity, find_opportunity
from arb.domain.rounding import EXACT as EXACT_CONTEXT
from arb.domain.rounding import common_step
from arb.domain.symbols import MarketInfo

D = Decimal
EXACT = Context(prec=80, traps=[Inexact])
# The autouse settings fixture only clears ARB_* variables and changes folder: harmless to
# share between examples.
FAST = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class Case:
    buy: OrderBook
    sell: OrderBook
    buy_market: MarketInfo
    sell_market: MarketInfo
    max_notional: Decimal
    min_profit: Decimal
    min_profit_pct: Decimal


@dataclass(frozen=True)
class Priced:
    amount: Decimal
    cost: Decimal
    proceeds: Decimal
    buy_limit: Decimal
    sell_limit: Decimal
    profit: Decimal


# --- the reference --------------------------------------------------------------------------


def exact(levels: tuple[Level, ...]) -> list[tuple[Decimal, Decimal]]:
    return [(D(repr(price)), D(repr(size))) for price, size in levels]


def take(levels: list[tuple[Decimal, Decimal]], amount: Decimal) -> tuple[Decimal, Decimal]:
    """Notional of the first `amount` units and the price of the level holding the last."""
    notional, before, worst = D(0), D(0), D(0)
    for price, size in levels:
        part = min(size, max(D(0), amount - before))
        if part > 0:
            notional, worst = notional + part * price, price
        before += size
    return notional, worst


def lcm_by_search(a: Decimal, b: Decimal) -> Decimal:
    multiple = a
    while multiple % b != 0:
        multiple += a
    return multiple


def every_amount(case: Case) -> list[Priced]:
    """Every whole multiple of both steps the books hold and the cap allows, priced exactly."""
    fee_buy, fee_sell = case.buy_market.taker_fee, case.sell_market.taker_fee
    asks, bids = exact(case.buy.asks), exact(case.sell.bids)
    depth = min(sum(s for _, s in asks), sum(s for _, s in bids))
    step = lcm_by_search(case.buy_market.amount_step, case.sell_market.amount_step)
    priced = []
    amount = step
    with localcontext(EXACT):
        while amount <= depth:
            cost, buy_limit = take(asks, amount)
            proceeds, sell_limit = take(bids, amount)
            if cost <= case.max_notional:
                profit = proceeds * (1 - fee_sell) - cost * (1 + fee_buy)
                priced.append(Priced(amount, cost, proceeds, buy_limit, sell_limit, profit))
            amount += step
    return priced


def earns(case: Case) -> bool:
    return any(p.profit > 0 for p in every_amount(case))


def reference(case: Case) -> Priced | None:
    """The smallest most-profitable grid amount, if it earns and passes every limit."""
    earning = [p for p in every_amount(case) if p.profit > 0]
    if not earning:
        return None
    top = max(p.profit for p in earning)
    best = min((p for p in earning if p.profit == top), key=lambda p: p.amount)
    buy_m, sell_m = case.buy_market, case.sell_market
    with localcontext(EXACT):
        passes = (
            best.amount >= max(buy_m.min_amount, sell_m.min_amount)
            and best.cost >= buy_m.min_notional
            and best.amount * best.sell_limit >= sell_m.min_notional
            and best.profit >= case.min_profit
            and 100 * best.profit >= case.min_profit_pct * best.cost
        )
    return best if passes else None


# --- generated cases ------------------------------------------------------------------------

STEPS = st.sampled_from(["0.01", "0.02", "0.05", "0.1", "0.2", "0.25", "0.5", "1"]).map(D)
FEES = st.sampled_from(["0", "0.0002", "0.001", "0.002", "0.005"]).map(D)


@st.composite
def sides(draw: st.DrawFn, start_cents: int, sign: int) -> tuple[Level, ...]:
    """One to four levels from `start_cents`, moving away from the touch in whole cents."""
    levels = []
    cents = start_cents
    for _ in range(draw(st.integers(1, 4))):  # empty books: see the table tests
        size = D(draw(st.integers(1, 300))) * D("0.005")  # 0.005 .. 1.5, off the step grid
        levels.append((float(D(cents) / 100), float(size)))
        cents += sign * draw(st.integers(1, 60))
    return tuple(levels)


@st.composite
def market(draw: st.DrawFn, base: MarketInfo, *, limits: bool) -> MarketInfo:
    pick = draw if limits else (lambda _: D(0))
    return replace(
        base,
        amount_step=draw(STEPS),
        taker_fee=draw(FEES),
        min_amount=pick(st.sampled_from([D(0), D(0), D("0.1"), D(1)])),
        min_notional=pick(st.sampled_from([D(0), D(0), D(5), D(50)])),
    )


@st.composite
def cases(draw: st.DrawFn, *, limits: bool = True) -> Case:
    buy_market = draw(market(MEXC_XRP, limits=limits))
    sell_market = draw(market(GATE_XRP, limits=limits))
    ask_cents = draw(st.integers(9_500, 10_500))  # around 100 USDT
    asks = draw(sides(ask_cents, +1))
    bids = draw(sides(ask_cents + draw(st.integers(-30, 200)), -1))  # crossing often
    pick = draw if limits else (lambda _: D(0))
    return Case(
        buy=book(buy_market, asks=asks),
        sell=book(sell_market, bids=bids),
        buy_market=buy_market,
        sell_market=sell_market,
        max_notional=D(draw(st.integers(1, 600))),
        min_profit=pick(st.sampled_from([D(0), D(0), D("0.01"), D("0.5")])),
        min_profit_pct=pick(st.sampled_from([D(0), D(0), D("0.1"), D(1)])),
    )


def find(case: Case) -> Opportunity | None:
    return find_opportunity(
        case.buy,
        case.sell,
        case.buy_market,
        case.sell_market,
        max_notional=case.max_notional,
        min_profit=case.min_profit,
        min_profit_pct=case.min_profit_pct,
    )


# --- properties -----------------------------------------------------------------------------


@FAST
@given(cases())
def test_finder_is_the_brute_force_optimum_to_the_last_digit(case: Case) -> None:
    found, best = find(case), reference(case)
    event("trade" if best else "limits refuse" if earns(case) else "nothing earns")

    if best is None:
        assert found is None
        return
    assert found is not None
    assert found.amount == best.amount
    assert found.net_profit == best.profit
    assert (found.buy_cost, found.sell_proceeds) == (best.cost, best.proceeds)
    assert (found.buy_limit_price, found.sell_limit_price) == (best.buy_limit, best.sell_limit)


@FAST
@given(cases())
def test_the_exact_window_alone_is_the_brute_force_optimum_too(
    monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    # The float window gives up near ties and near whole step counts; what it hands over
    # to must be right on its own, so price every case the exact way here.
    with monkeypatch.context() as patch:
        patch.setattr(opportunity, "_float_window", lambda *args: None)
        found, best = find(case), reference(case)

    got = (found.amount, found.net_profit) if found else None
    assert got == ((best.amount, best.profit) if best else None)


DIGITS = st.integers(0, 8)


@st.composite
def deep_books(draw: st.DrawFn) -> tuple[tuple[Level, ...], tuple[Level, ...], Decimal, Decimal]:
    """Asks and bids at real scales: prices 1e-6 to 1e5, sizes and steps 1e-8 to 1e3."""
    price_places, size_places = draw(st.integers(0, 6)), draw(DIGITS)
    tick, lot = D(1).scaleb(-price_places), D(1).scaleb(-size_places)
    touch = draw(st.integers(1, 10**6)) * tick * draw(st.sampled_from([1, 10, 100, 1000]))

    def side(sign: int) -> tuple[Level, ...]:
        levels, price = [], touch + sign * draw(st.integers(-20, 5)) * tick
        for _ in range(draw(st.integers(1, 20))):
            size = draw(st.integers(1, 10**5)) * lot * draw(st.sampled_from([1, 10, 1000]))
            if price > 0:
                levels.append((float(price), float(size)))
            price += sign * draw(st.integers(1, 40)) * tick
        return tuple(levels) or ((float(touch), float(lot)),)

    step = lot * draw(st.sampled_from([1, 2, 5, 10, 100]))
    max_notional = D(draw(st.integers(1, 10**6))).scaleb(-draw(st.integers(0, 2)))
    return side(+1), side(-1), step, max_notional


@settings(max_examples=600, deadline=None)
@given(deep_books(), FEES, FEES)
def test_the_float_window_holds_every_step_count_the_exact_window_prices(
    books: tuple[tuple[Level, ...], tuple[Level, ...], Decimal, Decimal],
    fee_buy: Decimal,
    fee_sell: Decimal,
) -> None:
    asks, bids, step, max_notional = books
    pay, keep = 1 + fee_buy, 1 - fee_sell
    with localcontext(EXACT_CONTEXT):
        first, last, cap = opportunity._exact_window(asks, bids, pay, keep, max_notional, step)
    window = opportunity._float_window(
        asks, bids, float(pay), float(keep), float(max_notional), float(common_step(step, step))
    )
    event("float window" if window is not None else "exact fallback")

    if window is None:
        return
    float_first, float_last, sure_cap = window
    assert sure_cap <= cap  # every count up to sure_cap is trusted to fit max_notional
    if first <= last:  # the exact candidates, all inside the float window
        assert float_first <= first
        assert last <= float_last


@FAST
@given(cases())
def test_what_is_found_fits_the_books_the_cap_the_steps_and_its_own_sums(case: Case) -> None:
    found = find(case)

    if found is None:
        return
    asks, bids = exact(case.buy.asks), exact(case.sell.bids)
    assert 0 < found.amount <= min(sum(s for _, s in asks), sum(s for _, s in bids))
    assert found.buy_cost <= case.max_notional
    assert found.amount % case.buy_market.amount_step == 0
    assert found.amount % case.sell_market.amount_step == 0
    assert found.buy_limit_price in {p for p, _ in asks}
    assert found.sell_limit_price in {p for p, _ in bids}
    with localcontext(EXACT):
        assert found.buy_fee == found.buy_cost * case.buy_market.taker_fee
        assert found.sell_fee == found.sell_proceeds * case.sell_market.taker_fee
        assert found.net_profit == (
            found.sell_proceeds - found.sell_fee - found.buy_cost - found.buy_fee
        )
    shown = Context(prec=28)
    assert found.buy_vwap == shown.divide(found.buy_cost, found.amount)
    assert found.sell_vwap == shown.divide(found.sell_proceeds, found.amount)
    assert found.net_profit_pct == shown.divide(100 * found.net_profit, found.buy_cost)


@FAST
@given(cases(limits=False), st.sampled_from(["buy", "sell"]), FEES)
def test_raising_a_fee_never_raises_the_profit(case: Case, side: str, extra: Decimal) -> None:
    if side == "buy":
        market = replace(case.buy_market, taker_fee=case.buy_market.taker_fee + extra)
        dearer = replace(case, buy_market=market)
    else:
        market = replace(case.sell_market, taker_fee=case.sell_market.taker_fee + extra)
        dearer = replace(case, sell_market=market)

    before, after = find(case), find(dearer)

    assert (after.net_profit if after else 0) <= (before.net_profit if before else 0)


@FAST
@given(st.integers(1, 10**8), st.integers(0, 8), st.integers(-2, 2), FEES, FEES, st.booleans())
def test_the_float_screen_never_drops_an_edge_the_exact_math_sees(
    ask_units: int, places: int, nudge: int, fee_buy: Decimal, fee_sell: Decimal, rebate: bool
) -> None:
    # Bids placed within a couple of last-digit ticks of break-even, where float rounding
    # of bid * (1 - fee) and ask * (1 + fee) could flip the comparison.
    fee_buy = -fee_buy if rebate else fee_buy
    tick = D(1).scaleb(-places)
    ask = D(ask_units) * tick
    with localcontext(EXACT) as ctx:
        ctx.traps[Inexact] = False
        bid = (ask * (1 + fee_buy) / (1 - fee_sell)).quantize(tick) + nudge * tick
    no_limits = {"amount_step": D(1), "min_amount": D(0), "min_notional": D(0)}
    buy_market = replace(MEXC_XRP, taker_fee=fee_buy, **no_limits)
    sell_market = replace(GATE_XRP, taker_fee=fee_sell, **no_limits)
    buy = book(buy_market, asks=((float(ask), 1.0),))
    sell = book(sell_market, bids=((float(bid), 1.0),))

    found = find_opportunity(
        buy, sell, buy_market, sell_market, max_notional=ask + 1, min_profit=D(-1)
    )

    with localcontext(EXACT):
        assert (found is not None) == (bid * (1 - fee_sell) > ask * (1 + fee_buy))


@st.composite
def two_sided(draw: st.DrawFn, market: MarketInfo) -> OrderBook:
    """A whole (uncrossed) book: bids from a touch price down, asks from above it up."""
    touch = draw(st.integers(9_500, 10_500))
    bids = draw(sides(touch, -1))
    asks = draw(sides(touch + draw(st.integers(1, 30)), +1))
    return book(market, bids, asks)


@FAST
@given(cases(), st.data())
def test_best_opportunity_is_the_better_of_both_directions(case: Case, data: st.DataObject) -> None:
    a = data.draw(two_sided(case.buy_market))
    b = data.draw(two_sided(case.sell_market))
    limits = {"max_notional": case.max_notional, "min_profit": case.min_profit}
    a_to_b = find_opportunity(a, b, case.buy_market, case.sell_market, **limits)
    b_to_a = find_opportunity(b, a, case.sell_market, case.buy_market, **limits)

    best = best_opportunity(a, b, case.buy_market, case.sell_market, **limits)

    # Uncrossed books cannot earn both ways (bid_a > ask_b >= bid_b > ask_a >= bid_a).
    assert a_to_b is None or b_to_a is None
    assert best == (a_to_b or b_to_a)


def test_the_float_window_answers_a_plain_cross_with_the_exact_windows_counts() -> None:
    # The recorded MEXC BTC ask against one Gate bid 0.2 % up (the simple-cross table test):
    # nothing near a tie or a whole step count, so floats must decide it, not fall back.
    asks, bids = ((45995.48, 13.457322),), ((46100.0, 0.05),)
    step, pay, keep, cap = D("0.000001"), D("1.0002"), D("0.998"), D(1000)
    with localcontext(EXACT_CONTEXT):
        exact = opportunity._exact_window(asks, bids, pay, keep, cap, step)

    window = opportunity._float_window(asks, bids, 1.0002, 0.998, 1000.0, 1e-6)

    assert window is not None
    assert window == exact  # 21741 steps: 1000 / 45995.48 USDT = 0.021741... BTC
    assert exact == (21741, 21741, 21741)
