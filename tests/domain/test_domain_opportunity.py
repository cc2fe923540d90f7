"""find_opportunity / best_opportunity on hand-computed books: every expected number exact."""

from __future__ import annotations

from dataclasses import replace
from decimal import Context, Decimal

import pytest
from domain_markets import (
    GATE_BTC,
    GATE_LTC,
    GATE_XRP,
    GATE_XRP_BIDS,
    MEXC_BTC,
    MEXC_BTC_ASKS,
    MEXC_BTC_BIDS,
    MEXC_LTC,
    MEXC_XRP,
    book,
)

from arb.domain.opportunity import Opportunity, best_opportunity, find_opportunity
from arb.domain.symbols import MarketInfo

D = Decimal
SHOWN = Context(prec=28)
NO_LIMITS = {"max_notional": D(10_000), "min_profit": D(0)}


def bare(market: MarketInfo, step: str) -> MarketInfo:
    """`market` with the given amount step and no fee or minimums: for arithmetic-only cases."""
    return replace(market, amount_step=D(step), taker_fee=D(0), min_amount=D(0), min_notional=D(0))


# --- simple cross ---------------------------------------------------------------------------


def test_simple_cross_buys_the_recorded_mexc_ask_and_sells_one_gate_bid() -> None:
    # 46100 * (1 - 0.002) = 46007.8 > 45995.48 * (1 + 0.0002) = 46004.679096: the bid's
    # whole 0.05 BTC earns; the step is 0.000001 on both, so nothing is rounded away.
    buy = book(MEXC_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)
    sell = book(GATE_BTC, bids=((46100.0, 0.05),), asks=((46101.0, 1.0),))

    found = find_opportunity(buy, sell, MEXC_BTC, GATE_BTC, **NO_LIMITS)

    assert found is not None
    assert (found.buy_vwap, found.sell_vwap) == (D("45995.48"), D("46100"))
    assert found.net_profit_pct == SHOWN.divide(D("15.60452"), D("2299.774"))  # 100 * net / cost
    assert found == Opportunity(
        symbol="BTC/USDT",
        buy_venue="mexc",
        sell_venue="gateio",
        amount=D("0.05"),
        buy_limit_price=D("45995.48"),
        sell_limit_price=D("46100"),
        buy_cost=D("2299.774"),  # 0.05 * 45995.48
        sell_proceeds=D("2305"),  # 0.05 * 46100
        buy_fee=D("0.4599548"),  # 2299.774 * 0.0002
        sell_fee=D("4.61"),  # 2305 * 0.002
        net_profit=D("0.1560452"),  # 2305 - 4.61 - 2299.774 - 0.4599548
        buy_levels=buy.asks,  # the levels it was found on, for re-pricing after sizing
        sell_levels=sell.bids,
    )


def test_prices_are_the_venues_decimals_not_binary_floats() -> None:
    buy = book(MEXC_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)
    sell = book(GATE_BTC, bids=((46100.0, 0.05),), asks=((46101.0, 1.0),))

    found = find_opportunity(buy, sell, MEXC_BTC, GATE_BTC, **NO_LIMITS)

    assert found is not None
    assert str(found.buy_limit_price) == "45995.48"
    assert str(found.amount) == "0.050000"  # a whole number of 0.000001 steps


# --- multi-level walk -----------------------------------------------------------------------

MEXC_XRP_ASKS = ((2.21, 100.0), (2.215, 200.0), (2.22, 500.0))


def test_walk_stops_at_the_first_unit_that_no_longer_earns() -> None:
    # Gate keeps 0.998 of each bid, MEXC XRP charges no taker fee. Matching best first:
    #   32.465 @ ask 2.21  vs bid 2.2236 (keeps 2.2191528)  earns
    #   67.535 @ ask 2.21  vs bid 2.2232 (keeps 2.2187536)  earns
    #  176.448 @ ask 2.215 vs bid 2.2232                    earns
    #   23.552 @ ask 2.215 vs bid 2.2231 (keeps 2.2186538)  earns
    #            ask 2.22  vs bid 2.2231                    loses: stop at 300 XRP.
    # One more 0.01 step would buy at 2.22 and keep 2.2186538: a loss, so 300.00 it is.
    buy = book(MEXC_XRP, asks=MEXC_XRP_ASKS)
    sell = book(GATE_XRP, bids=GATE_XRP_BIDS)

    found = find_opportunity(buy, sell, MEXC_XRP, GATE_XRP, **NO_LIMITS)

    assert found is not None
    assert found.amount == D(300)
    assert found.buy_cost == D(664)  # 100 * 2.21 + 200 * 2.215
    # 32.465 * 2.2236 + 243.983 * 2.2232 + 23.552 * 2.2231
    #  = 72.189174 + 542.4230056 + 52.3584512
    assert found.sell_proceeds == D("666.9706308")
    assert found.buy_limit_price == D("2.215")
    assert found.sell_limit_price == D("2.2231")
    assert found.buy_fee == 0
    assert found.sell_fee == D("1.3339412616")
    assert found.net_profit == D("1.6366895384")  # 666.9706308 - 1.3339412616 - 664
    assert found.buy_vwap == SHOWN.divide(D(664), D(300))
    assert found.sell_vwap == SHOWN.divide(D("666.9706308"), D(300))


def test_cap_by_max_notional_inside_a_level_is_exact() -> None:
    # 300 USDT buys 100 @ 2.21 (221 USDT), then 79 / 2.215 = 35.665... more: 135.665...,
    # truncated to the 0.01 step: 135.66 costs 221 + 35.66 * 2.215 = 299.9869 (135.67 would
    # cost 300.00905). Sold: 32.465 @ 2.2236 + 103.195 @ 2.2232.
    buy = book(MEXC_XRP, asks=MEXC_XRP_ASKS)
    sell = book(GATE_XRP, bids=GATE_XRP_BIDS)

    found = find_opportunity(buy, sell, MEXC_XRP, GATE_XRP, max_notional=D(300), min_profit=D(0))

    assert found is not None
    assert found.amount == D("135.66")
    assert found.buy_cost == D("299.9869")
    assert found.buy_limit_price == D("2.215")
    assert found.sell_proceeds == D("301.612298")
    assert found.sell_limit_price == D("2.2232")
    assert found.net_profit == D("1.022173404")  # 301.612298 * 0.998 - 299.9869


def test_cap_on_a_level_boundary_takes_the_whole_level() -> None:
    buy = book(MEXC_XRP, asks=MEXC_XRP_ASKS)
    sell = book(GATE_XRP, bids=GATE_XRP_BIDS)

    found = find_opportunity(buy, sell, MEXC_XRP, GATE_XRP, max_notional=D(221), min_profit=D(0))

    assert found is not None
    assert (found.amount, found.buy_cost, found.buy_limit_price) == (D(100), D(221), D("2.21"))


def test_no_notional_allowed_is_no_trade() -> None:
    buy = book(MEXC_XRP, asks=MEXC_XRP_ASKS)
    sell = book(GATE_XRP, bids=GATE_XRP_BIDS)

    found = find_opportunity(buy, sell, MEXC_XRP, GATE_XRP, max_notional=D(0), min_profit=D(0))

    assert found is None


# --- step rounding --------------------------------------------------------------------------


def test_amount_is_rounded_down_to_the_coarser_of_two_steps() -> None:
    # MEXC LTC steps 0.0001, Gate LTC 0.001: the bid holds 0.1234 LTC, 0.123 is tradable on
    # both. 69 * 0.998 = 68.862 > 68.12 * 1.0002 = 68.133624.
    buy = book(MEXC_LTC, asks=((68.12, 5.0),))
    sell = book(GATE_LTC, bids=((69.0, 0.1234),))

    found = find_opportunity(buy, sell, MEXC_LTC, GATE_LTC, **NO_LIMITS)

    assert found is not None
    assert found.amount == D("0.123")
    assert found.buy_cost == D("8.37876")  # 0.123 * 68.12
    assert found.sell_proceeds == D("8.487")  # 0.123 * 69
    assert found.buy_fee == D("0.001675752")
    assert found.sell_fee == D("0.016974")
    assert found.net_profit == D("0.089590248")  # 8.487 - 0.016974 - 8.37876 - 0.001675752


def test_steps_that_are_not_powers_of_ten_use_their_least_common_multiple() -> None:
    # Steps 0.25 and 0.1 share 0.5: 1.3 earning units trade as 1.0.
    buy_market, sell_market = bare(MEXC_XRP, "0.25"), bare(GATE_XRP, "0.1")
    buy = book(buy_market, asks=((10.0, 5.0),))
    sell = book(sell_market, bids=((11.0, 1.3),))

    found = find_opportunity(buy, sell, buy_market, sell_market, **NO_LIMITS)

    assert found is not None
    assert (found.amount, found.net_profit) == (D(1), D(1))


@pytest.mark.parametrize(
    ("second_bid", "amount", "net", "sell_limit"),
    [
        # 0.35 earns 3.5; the next 0.1 step sells 0.05 more @ 110 and 0.05 @ the second bid.
        (99.0, "0.4", "3.45", "99"),  # 38.5 + 4.95 - 40: the partial step adds 0.45
        (90.0, "0.3", "3", "110"),  # 38.5 + 4.5 - 40 = 3: a tie keeps the smaller amount
        (80.0, "0.3", "3", "110"),  # 38.5 + 4.0 - 40 = 2.5: worse
    ],
)
def test_one_step_past_the_earning_units_is_taken_only_when_it_nets_more(
    second_bid: float, amount: str, net: str, sell_limit: str
) -> None:
    buy_market, sell_market = bare(MEXC_XRP, "0.1"), bare(GATE_XRP, "0.1")
    buy = book(buy_market, asks=((100.0, 10.0),))
    sell = book(sell_market, bids=((110.0, 0.35), (second_bid, 10.0)))

    found = find_opportunity(buy, sell, buy_market, sell_market, **NO_LIMITS)

    assert found is not None
    assert (found.amount, found.net_profit, found.sell_limit_price) == (
        D(amount),
        D(net),
        D(sell_limit),
    )


def test_earning_units_below_one_step_can_still_trade_one_step() -> None:
    # 0.05 earns 0.5; a whole 0.1 step sells 0.05 @ 110 + 0.05 @ 99 = 10.45 for 10.
    buy_market, sell_market = bare(MEXC_XRP, "0.1"), bare(GATE_XRP, "0.1")
    buy = book(buy_market, asks=((100.0, 10.0),))
    sell = book(sell_market, bids=((110.0, 0.05), (99.0, 10.0)))

    found = find_opportunity(buy, sell, buy_market, sell_market, **NO_LIMITS)

    assert found is not None
    assert (found.amount, found.net_profit) == (D("0.1"), D("0.45"))


def test_earning_units_below_one_step_with_no_depth_behind_them_are_no_trade() -> None:
    buy_market, sell_market = bare(MEXC_XRP, "0.1"), bare(GATE_XRP, "0.1")
    buy = book(buy_market, asks=((100.0, 10.0),))
    sell = book(sell_market, bids=((110.0, 0.05),))

    assert find_opportunity(buy, sell, buy_market, sell_market, **NO_LIMITS) is None


# --- venue minimums and profit thresholds ---------------------------------------------------


def test_below_min_amount_is_rejected_and_the_minimum_itself_accepted() -> None:
    buy_market = replace(MEXC_XRP, min_notional=D(0))  # MEXC XRP: min amount 0.1
    sell_market = replace(GATE_XRP, min_notional=D(0))
    sell = book(sell_market, bids=((2.24, 100.0),))

    short = find_opportunity(
        book(buy_market, asks=((2.2241, 0.09),)), sell, buy_market, sell_market, **NO_LIMITS
    )
    exact = find_opportunity(
        book(buy_market, asks=((2.2241, 0.1),)), sell, buy_market, sell_market, **NO_LIMITS
    )

    assert short is None
    assert exact is not None
    assert exact.amount == D("0.1")


def test_sell_leg_below_gate_min_notional_is_rejected() -> None:
    # 1 XRP sold @ 2.24 is 2.24 USDT; Gate wants 3. Two XRP (4.48 USDT) pass.
    sell = book(GATE_XRP, bids=((2.24, 100.0),))

    one = find_opportunity(
        book(MEXC_XRP, asks=((2.2241, 1.0),)), sell, MEXC_XRP, GATE_XRP, **NO_LIMITS
    )
    two = find_opportunity(
        book(MEXC_XRP, asks=((2.2241, 2.0),)), sell, MEXC_XRP, GATE_XRP, **NO_LIMITS
    )

    assert one is None
    assert two is not None
    assert two.amount == D(2)


def test_sell_leg_min_notional_is_checked_at_its_limit_price_not_its_vwap() -> None:
    # 1.3 XRP sell for 2.4 + 0.3 * 2.24 = 3.072 USDT, but the IOC order the venue checks is
    # 1.3 @ 2.24 = 2.912 USDT, under Gate's 3.
    buy = book(MEXC_XRP, asks=((2.2241, 10.0),))
    sell = book(GATE_XRP, bids=((2.4, 1.0), (2.24, 0.3)))

    assert find_opportunity(buy, sell, MEXC_XRP, GATE_XRP, **NO_LIMITS) is None


def test_buy_leg_below_gate_min_notional_is_rejected() -> None:
    # Buying 1.3 XRP on Gate costs 2.89133 USDT (< 3); selling it on MEXC (min 1 USDT) is fine.
    buy = book(GATE_XRP, asks=((2.2241, 1.3),))
    sell = book(MEXC_XRP, bids=((2.3, 10.0),))

    assert find_opportunity(buy, sell, GATE_XRP, MEXC_XRP, **NO_LIMITS) is None


@pytest.mark.parametrize(
    ("min_profit", "min_profit_pct", "accepted"),
    [
        (D("0.1560452"), D(0), True),  # exactly the net profit: accepted
        (D("0.1560453"), D(0), False),
        (D(0), D("0.0067"), True),  # net is 0.006785...% of the cost
        (D(0), D("0.0068"), False),
    ],
)
def test_profit_thresholds(min_profit: Decimal, min_profit_pct: Decimal, accepted: bool) -> None:
    buy = book(MEXC_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)
    sell = book(GATE_BTC, bids=((46100.0, 0.05),))

    found = find_opportunity(
        buy,
        sell,
        MEXC_BTC,
        GATE_BTC,
        max_notional=D(10_000),
        min_profit=min_profit,
        min_profit_pct=min_profit_pct,
    )

    assert (found is not None) == accepted


# --- nothing to do --------------------------------------------------------------------------


def test_no_cross_between_the_recorded_mexc_book_and_itself() -> None:
    recorded = book(MEXC_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)
    gate = book(GATE_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)  # the same prices on the other venue

    assert find_opportunity(recorded, gate, MEXC_BTC, GATE_BTC, **NO_LIMITS) is None
    assert find_opportunity(gate, recorded, GATE_BTC, MEXC_BTC, **NO_LIMITS) is None


def test_fees_eat_a_positive_spread() -> None:
    # 46050 > 45995.48, but Gate keeps 46050 * 0.998 = 45957.9 < 46004.679096 paid on MEXC.
    buy = book(MEXC_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)
    sell = book(GATE_BTC, bids=((46050.0, 1.0),))

    assert find_opportunity(buy, sell, MEXC_BTC, GATE_BTC, **NO_LIMITS) is None


def test_a_unit_that_exactly_breaks_even_is_not_taken() -> None:
    # 100 * (1 - 0.002) = 99.8 exactly: nothing to earn (as floats the two sides differ).
    buy_market = bare(MEXC_XRP, "0.1")
    sell_market = replace(bare(GATE_XRP, "0.1"), taker_fee=D("0.002"))
    buy = book(buy_market, asks=((99.8, 10.0),))
    sell = book(sell_market, bids=((100.0, 10.0),))

    assert find_opportunity(buy, sell, buy_market, sell_market, **NO_LIMITS) is None


def test_a_fee_rebate_makes_touching_books_profitable() -> None:
    # bid == ask: only a negative (rebate) fee earns, so the no-fee shortcut must not apply.
    buy_market = replace(bare(MEXC_XRP, "0.1"), taker_fee=D("-0.0001"))
    sell_market = bare(GATE_XRP, "0.1")
    buy = book(buy_market, asks=((100.0, 1.0),))
    sell = book(sell_market, bids=((100.0, 1.0),))

    found = find_opportunity(buy, sell, buy_market, sell_market, **NO_LIMITS)

    assert found is not None
    assert (found.amount, found.buy_fee, found.net_profit) == (D(1), D("-0.01"), D("0.01"))


@pytest.mark.parametrize(
    ("asks", "bids"),
    [((), ((46100.0, 1.0),)), (MEXC_BTC_ASKS, ()), ((), ())],
    ids=["no asks", "no bids", "both empty"],
)
def test_empty_books_are_no_trade(asks: tuple[()], bids: tuple[()]) -> None:
    buy = book(MEXC_BTC, asks=asks)
    sell = book(GATE_BTC, bids=bids)

    assert find_opportunity(buy, sell, MEXC_BTC, GATE_BTC, **NO_LIMITS) is None


def test_books_and_markets_of_different_symbols_are_refused() -> None:
    buy = book(MEXC_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)
    sell = book(GATE_BTC, bids=((46100.0, 0.05),))

    with pytest.raises(ValueError, match="symbol"):
        find_opportunity(buy, sell, MEXC_BTC, GATE_LTC, **NO_LIMITS)


# --- both directions ------------------------------------------------------------------------


def test_best_opportunity_finds_the_direction_that_earns() -> None:
    mexc = book(MEXC_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)
    gate = book(GATE_BTC, bids=((46100.0, 0.05),), asks=((46101.0, 1.0),))

    forward = best_opportunity(mexc, gate, MEXC_BTC, GATE_BTC, **NO_LIMITS)
    backward = best_opportunity(gate, mexc, GATE_BTC, MEXC_BTC, **NO_LIMITS)

    assert forward is not None
    assert (forward.buy_venue, forward.sell_venue, forward.amount) == ("mexc", "gateio", D("0.05"))
    assert backward == forward


def test_best_opportunity_is_none_when_neither_direction_earns() -> None:
    mexc = book(MEXC_BTC, MEXC_BTC_BIDS, MEXC_BTC_ASKS)
    gate = book(GATE_BTC, bids=((45990.0, 1.0),), asks=((46000.0, 1.0),))

    assert best_opportunity(mexc, gate, MEXC_BTC, GATE_BTC, **NO_LIMITS) is None
