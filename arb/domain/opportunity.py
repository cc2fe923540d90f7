"""Two-book arbitrage: how much to buy on one venue and sell on the other, and what it nets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from functools import lru_cache

from arb.domain.book import Level, OrderBook
from arb.domain.rounding import EXACT, common_step
from arb.domain.symbols import MarketInfo

_ExactLevel = tuple[Decimal, Decimal]  # (price, amount) re-read exactly from the venue's float

_ZERO = Decimal(0)
# The float screen may only drop books the exact walk would drop too: float rounding in
# bid*(1-f) and ask*(1+f) is a few 1e-16 relative, so give it 1e-12 of room.
_SCREEN_SLACK = 1.0 - 1e-12
# VWAPs and the percentage are quotients, usually not finite decimals: they are rounded
# for display here. The money fields and every accept/reject decision stay exact.
_SHOWN = Context(prec=28)


@dataclass(frozen=True, slots=True)
class Opportunity:
    """Buy `amount` on `buy_venue`, sell it on `sell_venue`; every money field exact.

    buy_cost and sell_proceeds are the exact notionals of walking the books for `amount`
    (before fees); buy_fee = buy_cost * taker fee, sell_fee likewise; net_profit =
    sell_proceeds - sell_fee - buy_cost - buy_fee. The limit prices are the worst levels
    walked to: the IOC limits that fill the whole amount against these books. buy_vwap and
    sell_vwap (notional / amount) and net_profit_pct (100 * net_profit / buy_cost) are
    quotients and are rounded to 28 significant digits; nothing is decided on them.
    """

    symbol: str
    buy_venue: str
    sell_venue: str
    amount: Decimal
    buy_vwap: Decimal
    sell_vwap: Decimal
    buy_limit_price: Decimal
    sell_limit_price: Decimal
    buy_cost: Decimal
    sell_proceeds: Decimal
    buy_fee: Decimal
    sell_fee: Decimal
    net_profit: Decimal
    net_profit_pct: Decimal


def find_opportunity(
    buy: OrderBook,
    sell: OrderBook,
    buy_market: MarketInfo,
    sell_market: MarketInfo,
    *,
    max_notional: Decimal,
    min_profit: Decimal,
    min_profit_pct: Decimal = _ZERO,
) -> Opportunity | None:
    """The most profitable amount to buy on `buy`'s asks and sell into `sell`'s bids, or None.

    The amount is a whole multiple of both venues' amount steps, its buy notional is at most
    `max_notional`, and among all such amounts it earns the most after both taker fees (the
    smallest one on a tie). None when nothing earns, or when that best amount is below
    either venue's min amount or min notional, or nets less than `min_profit` or
    `min_profit_pct` percent of its cost. Min notional is checked on the lower of the values
    a venue might check: the buy leg's cost (its limit notional is higher) and the sell
    leg's amount * limit price (its proceeds are higher), so neither IOC order is refused
    for size. Books and markets must be of one symbol (ValueError otherwise), books sorted
    best first, and steps positive.
    """
    asks = buy.asks
    bids = sell.bids
    if not asks or not bids:
        return None
    fee_buy = buy_market.taker_fee
    fee_sell = sell_market.taker_fee
    bid = bids[0][0]
    ask = asks[0][0]
    # Almost every book update ends here, so skip the Decimal->float fee reads when the
    # plain prices already show no edge (only valid for fees >= 0; rebates go the long way).
    if bid <= ask and not (fee_buy.is_signed() or fee_sell.is_signed()):
        return None
    if bid * (1.0 - float(fee_sell)) <= ask * (1.0 + float(fee_buy)) * _SCREEN_SLACK:
        return None
    if not buy.symbol == sell.symbol == buy_market.symbol == sell_market.symbol:
        raise ValueError(
            f"books and markets disagree on the symbol: {buy.symbol}, {sell.symbol}, "
            f"{buy_market.symbol}, {sell_market.symbol}"
        )
    with localcontext(EXACT):
        return _decide(
            buy,
            sell,
            buy_market,
            sell_market,
            max_notional=max_notional,
            min_profit=min_profit,
            min_profit_pct=min_profit_pct,
        )


def best_opportunity(
    book_a: OrderBook,
    book_b: OrderBook,
    market_a: MarketInfo,
    market_b: MarketInfo,
    *,
    max_notional: Decimal,
    min_profit: Decimal,
    min_profit_pct: Decimal = _ZERO,
) -> Opportunity | None:
    """The better of buying on a and selling on b or the reverse (a->b on a tie), or None."""
    a_to_b = find_opportunity(
        book_a,
        book_b,
        market_a,
        market_b,
        max_notional=max_notional,
        min_profit=min_profit,
        min_profit_pct=min_profit_pct,
    )
    b_to_a = find_opportunity(
        book_b,
        book_a,
        market_b,
        market_a,
        max_notional=max_notional,
        min_profit=min_profit,
        min_profit_pct=min_profit_pct,
    )
    if a_to_b is None or (b_to_a is not None and b_to_a.net_profit > a_to_b.net_profit):
        return b_to_a
    return a_to_b


def _decide(
    buy: OrderBook,
    sell: OrderBook,
    buy_market: MarketInfo,
    sell_market: MarketInfo,
    *,
    max_notional: Decimal,
    min_profit: Decimal,
    min_profit_pct: Decimal,
) -> Opportunity | None:
    """The exact part of find_opportunity; runs under the EXACT context."""
    if max_notional <= 0:
        return None
    asks: list[_ExactLevel] = []  # levels read so far, shared by the passes below
    bids: list[_ExactLevel] = []
    buy_pay = 1 + buy_market.taker_fee
    sell_keep = 1 - sell_market.taker_fee
    step = common_step(buy_market.amount_step, sell_market.amount_step)
    gainful = _gainful_amount(
        _read(buy.asks, asks), _read(sell.bids, bids), buy_pay, sell_keep, max_notional
    )
    cap = _steps_within(_read(buy.asks, asks), max_notional, step)
    steps = min(gainful // step, cap)
    # Profit is concave in the amount and rises strictly up to `gainful`, so the best whole
    # number of steps is the last one inside it or, when its next step is still allowed,
    # that next one (the extra partial level can net more than it costs).
    best: tuple[Decimal, tuple[Decimal, Decimal], tuple[Decimal, Decimal]] | None = None
    best_profit = _ZERO
    for n in (steps, steps + 1):
        if n == 0 or n > cap:
            continue
        amount = n * step
        bought = _fill(_read(buy.asks, asks), amount)
        sold = _fill(_read(sell.bids, bids), amount)
        if bought is None or sold is None:
            continue
        profit = sold[0] * sell_keep - bought[0] * buy_pay
        if profit > best_profit:
            best, best_profit = (amount, bought, sold), profit
    if best is None:
        return None
    amount, (cost, buy_limit), (proceeds, sell_limit) = best
    if amount < buy_market.min_amount or amount < sell_market.min_amount:
        return None
    if cost < buy_market.min_notional or amount * sell_limit < sell_market.min_notional:
        return None
    buy_fee = cost * buy_market.taker_fee
    sell_fee = proceeds * sell_market.taker_fee
    net = proceeds - sell_fee - cost - buy_fee
    if net < min_profit or 100 * net < min_profit_pct * cost:
        return None
    return Opportunity(
        symbol=buy_market.symbol,
        buy_venue=buy_market.venue,
        sell_venue=sell_market.venue,
        amount=amount,
        buy_vwap=_SHOWN.divide(cost, amount),
        sell_vwap=_SHOWN.divide(proceeds, amount),
        buy_limit_price=buy_limit,
        sell_limit_price=sell_limit,
        buy_cost=cost,
        sell_proceeds=proceeds,
        buy_fee=buy_fee,
        sell_fee=sell_fee,
        net_profit=net,
        net_profit_pct=_SHOWN.divide(100 * net, cost),
    )


@lru_cache(maxsize=1 << 14)
def _exact(x: float) -> Decimal:
    """The venue's decimal text of a float level value (cached: book levels recur)."""
    return Decimal(repr(x))


def _read(raw: Sequence[Level], done: list[_ExactLevel]) -> Iterator[_ExactLevel]:
    """The levels of `raw` best first, each converted to Decimal once and kept in `done`."""
    yield from done
    for price, size in raw[len(done) :]:
        level = (_exact(price), _exact(size))
        done.append(level)
        yield level


def _gainful_amount(
    asks: Iterator[_ExactLevel],
    bids: Iterator[_ExactLevel],
    buy_pay: Decimal,
    sell_keep: Decimal,
    max_notional: Decimal,
) -> Decimal:
    """How much can be bought and resold with every unit earning after fees.

    Stops early once the buy notional reaches `max_notional`: past it the cap binds anyway.
    """
    amount = cost = ask_price = ask_left = bid_price = bid_left = _ZERO
    while True:
        if not ask_left:
            level = next(asks, None)
            if level is None:
                return amount
            ask_price, ask_left = level
        elif not bid_left:
            level = next(bids, None)
            if level is None:
                return amount
            bid_price, bid_left = level
        elif bid_price * sell_keep <= ask_price * buy_pay or cost >= max_notional:
            return amount
        else:
            take = min(ask_left, bid_left)
            amount += take
            cost += take * ask_price
            ask_left -= take
            bid_left -= take


def _steps_within(asks: Iterator[_ExactLevel], max_notional: Decimal, step: Decimal) -> Decimal:
    """The most whole steps the asks hold whose cost is at most `max_notional` (>= 0)."""
    amount = cost = _ZERO
    for price, size in asks:
        if cost + size * price > max_notional:
            # Inside this level: steps*step*price <= amount*price + (max_notional - cost).
            return (amount * price + max_notional - cost) // (price * step)
        amount += size
        cost += size * price
    return amount // step


def _fill(levels: Iterator[_ExactLevel], amount: Decimal) -> tuple[Decimal, Decimal] | None:
    """Notional and worst price of taking `amount` (> 0) off `levels`; None if too thin."""
    notional = _ZERO
    for price, size in levels:
        if size >= amount:
            return notional + amount * price, price
        notional += size * price
        amount -= size
    return None
