"""Price both legs of a trade for a given amount on the books its opportunity was found on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Context, Decimal, getcontext, setcontext

from arb.domain.book import Level
from arb.domain.opportunity import walk
from arb.domain.rounding import EXACT
from arb.domain.symbols import MarketInfo

_ZERO = Decimal(0)
_ONE = Decimal(1)
# Rounds a quotient up: enough digits that ceil() of the rounded value is ceil() of the true one.
_UP = Context(prec=80, rounding=ROUND_CEILING)


@dataclass(frozen=True, slots=True)
class Legs:
    """Both legs of one trade, priced exactly; money in the quote currency.

    When the buy venue takes its fee from the coins it delivers, `buy_amount` is grossed up
    so the coins received cover `sell_amount`; what it delivers beyond that (`left_over`,
    less than one buy step) stays in the account and is valued at the buy limit price.
    `fees` is both taker fees in quote (a fee taken in base valued at the buy VWAP: exactly
    buy_cost * fee). `expected_net` is what the trade earns if both legs fill as walked;
    `worst_net` if both fill at their limit prices, the most an IOC can cost.
    """

    buy_amount: Decimal
    sell_amount: Decimal
    buy_limit_price: Decimal
    sell_limit_price: Decimal
    buy_cost: Decimal
    sell_proceeds: Decimal
    fees: Decimal
    left_over: Decimal
    expected_net: Decimal
    worst_net: Decimal

    @property
    def buy_notional(self) -> Decimal:
        """The most the buy leg can spend before fees: amount at its limit price."""
        return self.buy_amount * self.buy_limit_price


def gross_up(sell_amount: Decimal, buy: MarketInfo) -> Decimal:
    """The buy amount whose coins received, after a fee taken in base, cover `sell_amount`.

    The smallest whole multiple of the buy venue's step with amount * (1 - fee) >= sell_amount;
    `sell_amount` itself when the venue charges its fee in quote.
    """
    if not buy.buy_fee_in_base or not buy.taker_fee:
        return sell_amount
    step = buy.amount_step
    steps = _UP.divide(sell_amount, _UP.multiply(buy.keep_rate, step))
    amount = EXACT.multiply(steps.to_integral_value(rounding=ROUND_CEILING), step)
    assert EXACT.multiply(amount, buy.keep_rate) >= sell_amount  # the invariant the grossing is for
    return amount


def price_legs(
    asks: Sequence[Level],
    bids: Sequence[Level],
    buy: MarketInfo,
    sell: MarketInfo,
    sell_amount: Decimal,
) -> Legs | None:
    """Walk `asks` for the (grossed-up) buy and `bids` for `sell_amount`; None if too thin."""
    saved = getcontext()
    setcontext(EXACT)
    try:
        return _price(asks, bids, buy, sell, sell_amount)
    finally:
        setcontext(saved)


def _price(
    asks: Sequence[Level],
    bids: Sequence[Level],
    buy: MarketInfo,
    sell: MarketInfo,
    sell_amount: Decimal,
) -> Legs | None:
    if sell_amount <= 0:
        return None
    buy_amount = gross_up(sell_amount, buy)
    bought, sold = walk(asks, buy_amount), walk(bids, sell_amount)
    if bought is None or sold is None:
        return None
    (cost, buy_limit), (proceeds, sell_limit) = bought, sold
    in_base = buy.buy_fee_in_base
    left_over = buy_amount * buy.keep_rate - sell_amount if in_base else _ZERO
    buy_fee, sell_fee = cost * buy.taker_fee, proceeds * sell.taker_fee
    kept = left_over * buy_limit
    # A fee taken in base is already paid for: those coins were bought and not received.
    buy_paid = cost if in_base else cost + buy_fee
    worst_paid = buy_amount * buy_limit * (_ONE if in_base else buy.pay_rate)
    return Legs(
        buy_amount=buy_amount,
        sell_amount=sell_amount,
        buy_limit_price=buy_limit,
        sell_limit_price=sell_limit,
        buy_cost=cost,
        sell_proceeds=proceeds,
        fees=buy_fee + sell_fee,
        left_over=left_over,
        expected_net=proceeds - sell_fee - buy_paid + kept,
        worst_net=sell_amount * sell_limit * sell.keep_rate - worst_paid + kept,
    )
