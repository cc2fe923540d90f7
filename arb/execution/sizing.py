"""Size a trade from fresh balances and risk room; re-check minimums and profit at the limits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arb.domain.opportunity import Opportunity
from arb.domain.rounding import common_step, round_down
from arb.domain.symbols import MarketInfo

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Plan:
    """The amount both legs send, at the opportunity's limit prices, and what it must earn."""

    amount: Decimal
    buy_price: Decimal
    sell_price: Decimal
    # At the limit prices after both taker fees: a trade that fills in full never earns less.
    worst_profit: Decimal

    @property
    def notional(self) -> Decimal:
        """Quote the buy leg may spend, before fees."""
        return self.amount * self.buy_price


@dataclass(frozen=True, slots=True)
class Skip:
    """Why the trade is not sent."""

    reason: str


@dataclass(frozen=True, slots=True)
class Room:
    """What the account and the risk limits allow for this trade, fetched after the opportunity."""

    quote_free: Decimal  # on the buy venue
    base_free: Decimal  # on the sell venue
    max_notional: Decimal
    exposure_room: Decimal  # quote value of unhedged base the limit still allows
    min_profit: Decimal
    min_profit_pct: Decimal


def size_trade(opp: Opportunity, buy: MarketInfo, sell: MarketInfo, room: Room) -> Plan | Skip:
    """The largest safe amount of `opp` both venues accept, or why there is none."""
    price = opp.buy_limit_price
    # Venues freeze amount * limit price for an IOC buy; the fee on top keeps us clear of
    # an InsufficientFunds rejection even on venues that charge it in quote.
    caps = {
        "opportunity": opp.amount,
        f"{buy.quote} on {buy.venue}": room.quote_free / (price * (1 + buy.taker_fee)),
        f"{sell.base} on {sell.venue}": room.base_free,
        "max notional": room.max_notional / price,
        "exposure room": room.exposure_room / price,
    }
    binding = min(caps, key=lambda name: caps[name])
    amount = round_down(max(caps[binding], ZERO), common_step(buy.amount_step, sell.amount_step))
    if amount <= 0:
        return Skip(f"no room: {binding} allows nothing")
    reason = _below_minimum(amount, opp, buy, sell)
    if reason is not None:
        limited = "" if binding == "opportunity" else f" (limited by {binding})"
        return Skip(reason + limited)
    worst = amount * opp.sell_limit_price * (1 - sell.taker_fee) - amount * price * (
        1 + buy.taker_fee
    )
    if worst < room.min_profit:
        return Skip(f"profit at the limit prices {worst:.6f} is below min_profit {room.min_profit}")
    if 100 * worst < room.min_profit_pct * amount * price:
        return Skip(f"profit at the limit prices {worst:.6f} is below min_profit_pct")
    return Plan(amount=amount, buy_price=price, sell_price=opp.sell_limit_price, worst_profit=worst)


def _below_minimum(
    amount: Decimal, opp: Opportunity, buy: MarketInfo, sell: MarketInfo
) -> str | None:
    for market, notional in (
        (buy, amount * opp.buy_limit_price),
        (sell, amount * opp.sell_limit_price),
    ):
        if amount < market.min_amount:
            return f"amount {amount} is below {market.venue}'s minimum {market.min_amount}"
        if notional < market.min_notional:
            return f"notional {notional} is below {market.venue}'s minimum {market.min_notional}"
    return None
