"""Taker matching against a book side: limit, IOC, FOK and market orders, exact Decimals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from arb.sim.scenario import Level


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill at one book level."""

    price: Decimal
    amount: Decimal

    @property
    def cost(self) -> Decimal:
        """Quote amount of the fill."""
        return self.price * self.amount


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Round down to a whole multiple of `step`."""
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def take(
    levels: Sequence[Level],
    buy: bool,
    *,
    limit: Decimal | None,
    amount: Decimal | None,
    budget: Decimal | None,
    step: Decimal,
) -> tuple[Fill, ...]:
    """Fill against `levels` (best first) up to `amount` base or a quote `budget`.

    `limit` None means a market order. A budget (market buy by cost) buys whole amount
    steps only, as venues do, so a little quote may stay unspent.
    """
    fills: list[Fill] = []
    left = amount
    money = budget
    for price, available in levels:
        if limit is not None and (price > limit if buy else price < limit):
            break
        size = available
        if left is not None:
            size = min(size, left)
        if money is not None:
            size = min(size, floor_to(money / price, step))
        if size <= 0:
            break
        fills.append(Fill(price, size))
        if left is not None:
            left -= size
        if money is not None:
            money -= size * price
    return tuple(fills)


def total(fills: Sequence[Fill]) -> tuple[Decimal, Decimal]:
    """(base amount, quote cost) of some fills."""
    return sum((f.amount for f in fills), Decimal(0)), sum((f.cost for f in fills), Decimal(0))
