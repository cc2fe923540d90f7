"""Two-book arbitrage: how much to buy on one venue and sell on the other, and what it nets."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Context, Decimal, getcontext, setcontext
from functools import lru_cache
from typing import NamedTuple

from arb.domain.book import Level, OrderBook
from arb.domain.rounding import EXACT, common_step
from arb.domain.symbols import MarketInfo

_ExactLevel = tuple[Decimal, Decimal]  # (price, amount) re-read exactly from the venue's float

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# The float screen may only drop books the exact walk would drop too: float rounding in
# bid*(1-f) and ask*(1+f) is a few 1e-16 relative, so give it 1e-12 of room.
_SCREEN_SLACK = 1.0 - 1e-12
# VWAPs and the percentage are quotients, usually not finite decimals: they are rounded
# for display here. The money fields and every accept/reject decision stay exact.
_SHOWN = Context(prec=28)
# The float window gives up on a comparison closer than this (relative): float error in
# these sums and products is a few 1e-16, so a wider margin is never decided wrongly.
_FUZZ = 1e-9
# A float step count within this of a whole number may be either side of it exactly.
_NEAR = 1e-6
# Above this many steps the float count itself is too coarse for _NEAR: go exact.
_MAX_STEPS = 1e8


class Opportunity(NamedTuple):
    """Buy `amount` on `buy_venue`, sell it on `sell_venue`; every money field exact.

    buy_cost and sell_proceeds are the exact notionals of walking the books for `amount`
    (before fees); buy_fee = buy_cost * taker fee, sell_fee likewise; net_profit =
    sell_proceeds - sell_fee - buy_cost - buy_fee. The limit prices are the worst levels
    walked to: the IOC limits that fill the whole amount against these books. buy_levels and
    sell_levels are those books' asks and bids as copied on the tick it was found on, so the
    executor can price a smaller amount on the same books when sizing cuts it. buy_vwap and
    sell_vwap (notional / amount) and net_profit_pct (100 * net_profit / buy_cost) are
    quotients, rounded to 28 significant digits and computed when read; nothing is decided
    on them.

    A NamedTuple, not the frozen dataclass our other values are: it is built on every
    update that crosses, and a frozen dataclass's __init__ (one object.__setattr__ per
    field) cost 1.7 us of the 7 us evaluation budget against 0.45 us here (make bench).
    It is immutable all the same.
    """

    symbol: str
    buy_venue: str
    sell_venue: str
    amount: Decimal
    buy_limit_price: Decimal
    sell_limit_price: Decimal
    buy_cost: Decimal
    sell_proceeds: Decimal
    buy_fee: Decimal
    sell_fee: Decimal
    net_profit: Decimal
    buy_levels: tuple[Level, ...] = ()
    sell_levels: tuple[Level, ...] = ()

    @property
    def buy_vwap(self) -> Decimal:
        """Average buy price before fees: buy_cost / amount."""
        return _SHOWN.divide(self.buy_cost, self.amount)

    @property
    def sell_vwap(self) -> Decimal:
        """Average sell price before fees: sell_proceeds / amount."""
        return _SHOWN.divide(self.sell_proceeds, self.amount)

    @property
    def net_profit_pct(self) -> Decimal:
        """Net profit in percent of the buy cost."""
        return _SHOWN.divide(EXACT.multiply(_HUNDRED, self.net_profit), self.buy_cost)


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
    # Almost every book update ends here: the top of the books shows no edge after fees.
    pay = 1.0 + buy_market.fee_float
    keep = 1.0 - sell_market.fee_float
    if bids[0][0] * keep <= asks[0][0] * pay * _SCREEN_SLACK:
        return None
    if not buy.symbol == sell.symbol == buy_market.symbol == sell_market.symbol:
        raise ValueError(
            f"books and markets disagree on the symbol: {buy.symbol}, {sell.symbol}, "
            f"{buy_market.symbol}, {sell_market.symbol}"
        )
    if max_notional <= 0:
        return None
    saved = getcontext()
    setcontext(EXACT)  # not localcontext(): that copies the context, a third of the budget
    try:
        return _decide(buy, sell, buy_market, sell_market, max_notional, min_profit, min_profit_pct)
    finally:
        setcontext(saved)


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
    max_notional: Decimal,
    min_profit: Decimal,
    min_profit_pct: Decimal,
) -> Opportunity | None:
    """The exact part of find_opportunity; runs under the EXACT context."""
    asks, bids = buy.asks, sell.bids
    step = common_step(buy_market.amount_step, sell_market.amount_step)
    window = _float_window(
        asks,
        bids,
        1.0 + buy_market.fee_float,
        1.0 - sell_market.fee_float,
        _as_float(max_notional),
        _as_float(step),
    ) or _exact_window(asks, bids, buy_market.pay_rate, sell_market.keep_rate, max_notional, step)
    first, last, sure_cap = window
    # Profit is concave in the amount and rises strictly up to the gainful amount, so the
    # best whole number of steps is the last one inside it or, when its next step is still
    # allowed, that next one (the extra partial level can net more than it costs). The
    # window holds both; steps above `sure_cap` are checked against the cap exactly.
    best = None
    best_net = _ZERO  # only an amount that earns is kept
    buy_rate, sell_rate = buy_market.taker_fee, sell_market.taker_fee
    for n in range(first, last + 1):
        amount = step * n
        bought = walk(asks, amount)
        if bought is None or (n > sure_cap and bought[0] > max_notional):
            continue
        sold = walk(bids, amount)
        if sold is None:
            continue
        cost, proceeds = bought[0], sold[0]
        buy_fee, sell_fee = cost * buy_rate, proceeds * sell_rate
        net = proceeds - sell_fee - cost - buy_fee
        if net > best_net:  # strictly: the smaller amount wins a tie
            best, best_net = (amount, cost, bought[1], proceeds, sold[1], buy_fee, sell_fee), net
    if best is None:
        return None
    amount, cost, buy_limit, proceeds, sell_limit, buy_fee, sell_fee = best
    net = best_net
    if amount < buy_market.min_amount or amount < sell_market.min_amount:
        return None
    if cost < buy_market.min_notional or amount * sell_limit < sell_market.min_notional:
        return None
    if net < min_profit or (min_profit_pct and 100 * net < min_profit_pct * cost):
        return None
    return Opportunity(
        buy_market.symbol,
        buy_market.venue,
        sell_market.venue,
        amount,
        buy_limit,
        sell_limit,
        cost,
        proceeds,
        buy_fee,
        sell_fee,
        net,
        asks,
        bids,
    )


# A window of step counts to price exactly: (first, last, sure_cap). Every count up to
# sure_cap fits max_notional; counts above it are checked exactly.
_Window = tuple[int, int, int]


def _float_window(
    asks: Sequence[Level],
    bids: Sequence[Level],
    pay: float,
    keep: float,
    max_notional: float,
    step: float,
) -> _Window | None:
    """The step counts to price, found in floats; None where floats cannot be sure.

    Mirrors _exact_window. Float sums and products are off by a few 1e-16 relative, so a
    price comparison or a cap test closer than _FUZZ (relative) gives up, and a step count
    within _NEAR of a whole number widens the window by one rather than guess its side.
    """
    gainful = _float_gainful(asks, bids, pay, keep, max_notional)
    cap = _float_cap(asks, max_notional)
    if gainful is None or cap is None:
        return None
    gainful /= step
    cap /= step
    if not (0.0 <= gainful < _MAX_STEPS and 0.0 <= cap < _MAX_STEPS):
        return None
    g_low, g_high = _whole(gainful)
    c_low, c_high = _whole(cap)
    return (min(g_low, c_low) or 1), min(g_high + 1, c_high), c_low


def _whole(steps: float) -> tuple[int, int]:
    """The whole part of a float step count (>= 0) as a range sure to hold the exact one."""
    whole = int(steps)
    part = steps - whole
    if part < _NEAR:
        return whole - (whole > 0), whole
    if part > 1.0 - _NEAR:
        return whole, whole + 1
    return whole, whole


def _float_gainful(
    asks: Sequence[Level], bids: Sequence[Level], pay: float, keep: float, max_notional: float
) -> float | None:
    """_gainful_amount in floats; None when a comparison is too close to call."""
    near_cap = _FUZZ * max_notional
    n_asks, n_bids = len(asks), len(bids)
    i = j = 0
    ask_price, ask_left = asks[0]
    bid_price, bid_left = bids[0]
    amount = cost = 0.0
    while True:
        buy_at = ask_price * pay
        edge = bid_price * keep - buy_at
        room = max_notional - cost
        near = _FUZZ * buy_at
        if -near <= edge <= near or -near_cap <= room <= near_cap:
            return None
        if edge < 0.0 or room < 0.0:
            return amount
        take = ask_left if ask_left < bid_left else bid_left
        amount += take
        cost += take * ask_price
        ask_left -= take
        bid_left -= take
        if not ask_left:
            i += 1
            if i == n_asks:
                return amount
            ask_price, ask_left = asks[i]
        if not bid_left:
            j += 1
            if j == n_bids:
                return amount
            bid_price, bid_left = bids[j]


def _float_cap(asks: Sequence[Level], max_notional: float) -> float | None:
    """The amount whose cost is max_notional, in floats (as _steps_within before its
    rounding down to steps); None when a level ends too close to the cap to call."""
    near_cap = _FUZZ * max_notional
    amount = cost = 0.0
    for price, size in asks:
        total = cost + size * price
        if -near_cap <= total - max_notional <= near_cap:
            return None
        if total > max_notional:
            return amount + (max_notional - cost) / price
        amount += size
        cost = total
    return amount


def _exact_window(
    asks: Sequence[Level],
    bids: Sequence[Level],
    pay: Decimal,
    keep: Decimal,
    max_notional: Decimal,
    step: Decimal,
) -> _Window:
    """The step counts to price, found exactly: the last gainful one and the next."""
    exact_asks = [(_exact(p), _exact(a)) for p, a in asks]
    exact_bids = [(_exact(p), _exact(a)) for p, a in bids]
    cap = int(_steps_within(exact_asks, max_notional, step))
    steps = min(int(_gainful_amount(exact_asks, exact_bids, pay, keep, max_notional) // step), cap)
    return max(steps, 1), min(steps + 1, cap), cap


@lru_cache(maxsize=1 << 12)
def _exact(x: float) -> Decimal:
    """The venue's decimal text of a float level value (cached: book levels recur).

    Only the levels an opportunity walks through are read exactly, so a few thousand
    entries hold every level still near the touch; the bound keeps memory flat.
    """
    return Decimal(repr(x))


@lru_cache(maxsize=256)
def _as_float(x: Decimal) -> float:
    """A limit or step as a float (cached: they are settings and market facts)."""
    return float(x)


def _gainful_amount(
    asks: Sequence[_ExactLevel],
    bids: Sequence[_ExactLevel],
    buy_pay: Decimal,
    sell_keep: Decimal,
    max_notional: Decimal,
) -> Decimal:
    """How much can be bought and resold with every unit earning after fees.

    Stops early once the buy notional reaches `max_notional`: past it the cap binds anyway.
    """
    amount = cost = _ZERO
    ask_levels, bid_levels = iter(asks), iter(bids)
    ask_price = ask_left = bid_price = bid_left = _ZERO
    while True:
        if not ask_left:
            level = next(ask_levels, None)
            if level is None:
                return amount
            ask_price, ask_left = level
        elif not bid_left:
            level = next(bid_levels, None)
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


def _steps_within(asks: Sequence[_ExactLevel], max_notional: Decimal, step: Decimal) -> Decimal:
    """The most whole steps the asks hold whose cost is at most `max_notional` (>= 0)."""
    amount = cost = _ZERO
    for price, size in asks:
        if cost + size * price > max_notional:
            # Inside this level: steps*step*price <= amount*price + (max_notional - cost).
            return (amount * price + max_notional - cost) // (price * step)
        amount += size
        cost += size * price
    return amount // step


def walk(levels: Sequence[Level], amount: Decimal) -> tuple[Decimal, Decimal] | None:
    """Notional and worst price of taking `amount` (> 0) off `levels`; None if too thin.

    Exact only under the EXACT context (find_opportunity and price_legs set it).
    """
    notional = _ZERO
    for raw_price, raw_size in levels:
        price = _exact(raw_price)
        size = _exact(raw_size)
        if size >= amount:
            return notional + amount * price, price
        notional += size * price
        amount -= size
    return None
