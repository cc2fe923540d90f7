"""Size a trade from fresh balances and risk room, then price it again on its own books."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arb.domain.opportunity import Opportunity
from arb.domain.pricing import Legs, price_legs
from arb.domain.rounding import common_step, round_down
from arb.domain.symbols import MarketInfo

ZERO = Decimal(0)
# Grossing the buy up to its step can push it one step past a cap; step down this often.
_STEP_DOWN = 3


@dataclass(frozen=True, slots=True)
class Plan:
    """The legs to send, priced for their own amounts on the opportunity's books."""

    legs: Legs

    @property
    def buy_amount(self) -> Decimal:
        """Base the buy leg sends (grossed up when the venue takes its fee in base)."""
        return self.legs.buy_amount

    @property
    def sell_amount(self) -> Decimal:
        """Base the sell leg sends."""
        return self.legs.sell_amount

    @property
    def buy_price(self) -> Decimal:
        """The buy leg's IOC limit: the worst ask its own amount walks to."""
        return self.legs.buy_limit_price

    @property
    def sell_price(self) -> Decimal:
        """The sell leg's IOC limit: the worst bid its own amount walks to."""
        return self.legs.sell_limit_price

    @property
    def notional(self) -> Decimal:
        """Quote the buy leg may spend, before fees."""
        return self.legs.buy_notional


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
    max_worst_case_loss: Decimal = ZERO  # quote; both legs filled at their limit prices


def size_trade(opp: Opportunity, buy: MarketInfo, sell: MarketInfo, room: Room) -> Plan | Skip:
    """The largest safe amount of `opp` both venues accept, priced for itself, or why not.

    Caps are taken at the opportunity's limit prices (a smaller amount never walks further),
    the amount is rounded down to both venues' steps, and both books the opportunity was
    found on are walked again for that amount: its own (tighter) limits, expected net and
    worst case decide, and are what is sent.
    """
    binding, amount = _capped(opp, buy, sell, room)
    if amount <= 0:
        return Skip(f"no room: {binding} allows nothing")
    step = common_step(buy.amount_step, sell.amount_step)
    limited = "" if binding == "opportunity" else f" (limited by {binding})"
    over = binding
    for _ in range(_STEP_DOWN):
        legs = price_legs(opp.buy_levels, opp.sell_levels, buy, sell, amount)
        if legs is None:
            return Skip(f"the books it was found on do not hold {amount}{limited}")
        over = _over_room(legs, buy, room) or ""
        if not over:
            reason = _below_minimum(legs, buy, sell) or _unprofitable(legs, room)
            return Plan(legs) if reason is None else Skip(reason + limited)
        amount -= step
        if amount <= 0:
            break
    return Skip(f"no room: {over} allows no whole step")


def _capped(opp: Opportunity, buy: MarketInfo, sell: MarketInfo, room: Room) -> tuple[str, Decimal]:
    """The binding cap's name and the sell amount it allows, on both venues' common step."""
    price = opp.buy_limit_price
    # The buy is grossed up by 1 / (1 - fee) when its fee is taken in base.
    per_sold = price / buy.keep_rate if buy.buy_fee_in_base else price
    # Venues freeze amount * limit price for an IOC buy; the fee on top keeps us clear of
    # an InsufficientFunds rejection even on venues that charge it in quote.
    caps = {
        "opportunity": opp.amount,
        f"{buy.quote} on {buy.venue}": room.quote_free / (per_sold * buy.pay_rate),
        f"{sell.base} on {sell.venue}": room.base_free,
        "max notional": room.max_notional / per_sold,
        "exposure room": room.exposure_room / price,
    }
    binding = min(caps, key=lambda name: caps[name])
    step = common_step(buy.amount_step, sell.amount_step)
    return binding, round_down(max(caps[binding], ZERO), step)


def _over_room(legs: Legs, buy: MarketInfo, room: Room) -> str | None:
    """The cap the priced buy leg exceeds (its grossing rounds up), or None."""
    notional = legs.buy_notional
    if notional * buy.pay_rate > room.quote_free:
        return f"{buy.quote} on {buy.venue}"
    if notional > room.max_notional:
        return "max notional"
    return None


def _below_minimum(legs: Legs, buy: MarketInfo, sell: MarketInfo) -> str | None:
    for market, amount, notional in (
        (buy, legs.buy_amount, legs.buy_notional),
        (sell, legs.sell_amount, legs.sell_amount * legs.sell_limit_price),
    ):
        if amount < market.min_amount:
            return f"amount {amount} is below {market.venue}'s minimum {market.min_amount}"
        if notional < market.min_notional:
            return f"notional {notional} is below {market.venue}'s minimum {market.min_notional}"
    return None


def _unprofitable(legs: Legs, room: Room) -> str | None:
    net = legs.expected_net
    if net < room.min_profit:
        return f"expected net {net:.6f} is below min_profit {room.min_profit}"
    if 100 * net < room.min_profit_pct * legs.buy_cost:
        return f"expected net {net:.6f} is below min_profit_pct {room.min_profit_pct}"
    if legs.worst_net < -room.max_worst_case_loss:
        return (
            f"worst case at the limit prices {legs.worst_net:.6f} is a loss beyond "
            f"max_worst_case_loss {room.max_worst_case_loss}"
        )
    return None
