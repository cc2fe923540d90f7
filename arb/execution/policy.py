"""One-legged trades: the order that closes the gap between what was bought and what was sold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from arb.domain.opportunity import Opportunity
from arb.domain.pricing import gross_up
from arb.domain.rounding import round_down
from arb.domain.symbols import MarketInfo
from arb.execution.legs import LegResult, Role
from arb.execution.settings import Policy

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Fix:
    """An IOC order that closes (part of) the gap, its limit bounded by the slippage setting."""

    venue: str
    side: str
    amount: Decimal  # the whole gap (a buy grossed up for a fee in base), before rounding
    price: Decimal  # on the venue's price step, never beyond the slippage bound
    role: Role


def gap(legs: Sequence[LegResult], markets: Mapping[str, MarketInfo]) -> Decimal:
    """Base received minus base sold over every order of a trade (> 0: long, < 0: short).

    A fee taken in base is not received: a buy that was not grossed up for it leaves the
    trade short by the fee.
    """
    return sum((leg.base_change(markets[leg.order.venue]) for leg in legs), ZERO)


def filled_as_sent(legs: Sequence[LegResult]) -> bool:
    """True when both legs of a trade filled exactly what was sent (as sized: even)."""
    return len(legs) == 2 and all(leg.known and leg.filled == leg.order.amount for leg in legs)


def corrective(
    policy: Policy,
    opp: Opportunity,
    legs: Sequence[LegResult],
    markets: Mapping[str, MarketInfo],
    max_slippage_pct: Decimal,
) -> Fix | None:
    """The order `policy` sends to close the gap, or None when the legs are even.

    unwind: trade the excess back on the venue that filled it, around its own fill price.
    hedge: trade the missing amount on the venue that fell short, around its limit price.
    """
    excess = gap(legs, markets)
    if not excess:
        return None
    long = excess > 0
    side = "sell" if long else "buy"
    if policy is Policy.UNWIND:
        venue = opp.buy_venue if long else opp.sell_venue
        filled_side = "buy" if long else "sell"
        reference = _average(legs, venue, filled_side)
        role = Role.UNWIND
    else:
        venue = opp.sell_venue if long else opp.buy_venue
        reference = opp.sell_limit_price if long else opp.buy_limit_price
        role = Role.HEDGE
    market = markets[venue]
    price = bounded_price(reference, side, max_slippage_pct, market.price_step)
    # A buy on a venue that keeps its fee in base must be grossed up to receive the gap.
    amount = gross_up(-excess, market) if side == "buy" else excess
    return Fix(venue=venue, side=side, amount=amount, price=price, role=role)


def bounded_price(reference: Decimal, side: str, slippage_pct: Decimal, step: Decimal) -> Decimal:
    """The IOC limit `slippage_pct` worse than `reference`, rounded towards the reference."""
    if side == "sell":
        # ceil: a sell limit below the bound would allow more slippage than configured
        return -round_down(-reference * (1 - slippage_pct / 100), step)
    return round_down(reference * (1 + slippage_pct / 100), step)


def tradable(amount: Decimal, price: Decimal, market: MarketInfo) -> Decimal:
    """`amount` on the venue's step, or 0 when it is below the venue's minimums (dust)."""
    stepped = round_down(amount, market.amount_step)
    if stepped <= 0 or stepped < market.min_amount or stepped * price < market.min_notional:
        return ZERO
    return stepped


def _average(legs: Sequence[LegResult], venue: str, side: str) -> Decimal:
    filled = [leg for leg in legs if leg.order.venue == venue and leg.order.side == side]
    amount = sum((leg.filled for leg in filled), ZERO)
    cost = sum((leg.cost for leg in filled), ZERO)
    if amount and cost:
        return cost / amount
    return filled[0].order.price  # a fill without a reported cost: its limit bounds it
