"""`--paper`: a simulated wallet that fills IOC orders at the live book's prices, sending nothing.

It offers the venue methods execution uses, so a paper trade runs the same executor code
as a real one. Liquidity it takes is remembered against the book snapshot it took it from,
so two orders on the same snapshot cannot both fill the same level.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType

from arb.domain.book import Level, OrderBook
from arb.domain.rounding import round_down
from arb.domain.symbols import MarketInfo
from arb.errors import InsufficientFunds, OrderRejected
from arb.execution.risk import wall_ms
from arb.venues.adapter import Balance, Fee, OrderResult, OrderStatus

ZERO = Decimal(0)


class PaperVenue:
    """A paper account on one venue: balances move only by its own simulated fills."""

    def __init__(
        self,
        venue_id: str,
        *,
        market: Callable[[str], MarketInfo],
        book: Callable[[str], OrderBook | None],
        balances: Mapping[str, Decimal],
        clock_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.id = venue_id
        self._market = market
        self._book = book
        self._clock_ms = clock_ms
        self.free: dict[str, Decimal] = {k.upper(): Decimal(v) for k, v in balances.items()}
        self.orders: dict[str, OrderResult] = {}  # by order id, in placement order
        self._by_client: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._taken: dict[str, tuple[OrderBook, dict[tuple[str, Decimal], Decimal]]] = {}

    def market(self, symbol: str) -> MarketInfo:
        """The real venue's market facts for `symbol`."""
        return self._market(symbol)

    def balance_wait(self) -> float:
        """A paper wallet has no rate limit."""
        return 0.0

    async def fetch_balance(self) -> Balance:
        """The paper balances now (nothing is ever locked: orders are IOC)."""
        free = MappingProxyType(dict(self.free))
        return Balance(venue=self.id, free=free, used=MappingProxyType({}), total=free)

    async def fetch_trading_fee(self, symbol: str) -> Decimal:
        """The market's taker fee."""
        return self.market(symbol).taker_fee

    async def create_order(
        self,
        symbol: str,
        side: str,
        amount: Decimal,
        price: Decimal,
        client_order_id: str,
        *,
        market: bool = False,
    ) -> OrderResult:
        """Fill an IOC order against the current book up to its limit; the rest is canceled."""
        info = self.market(symbol)
        if client_order_id in self._by_client:
            raise OrderRejected(f"duplicate client order id {client_order_id}", venue=self.id)
        amount = round_down(amount, info.amount_step)
        if amount <= 0 or amount < info.min_amount or amount * price < info.min_notional:
            raise OrderRejected(
                f"{amount} {symbol} at {price} is below the minimums", venue=self.id
            )
        buy = side == "buy"
        pay, need = (info.quote, amount * price) if buy else (info.base, amount)
        if self.free.get(pay, ZERO) < need:
            raise InsufficientFunds(
                f"{need} {pay} needed, {self.free.get(pay, ZERO)} free", venue=self.id
            )
        filled, cost = self._take(symbol, side, amount, None if market else price)
        fee = (filled if buy else cost) * info.taker_fee  # in the currency received
        fee_currency = info.base if buy else info.quote
        if buy:
            self._add(info.quote, -cost)
            self._add(info.base, filled - fee)
        else:
            self._add(info.base, -filled)
            self._add(info.quote, cost - fee)
        order_id = str(next(self._ids))
        result = OrderResult(
            venue=self.id,
            symbol=symbol,
            id=order_id,
            client_order_id=client_order_id,
            side=side,
            status=OrderStatus.CLOSED if filled == amount else OrderStatus.CANCELED,
            amount=amount,
            price=price,
            filled=filled,
            average=cost / filled if filled else None,
            cost=cost,
            fees=(Fee(fee_currency, fee),) if filled else (),
            timestamp=self._clock_ms(),
        )
        self.orders[order_id] = result
        self._by_client[client_order_id] = order_id
        return result

    async def fetch_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult | None:
        """An order by id or client order id; None if this wallet never placed it."""
        if order_id is None and client_order_id is not None:
            order_id = self._by_client.get(client_order_id)
        return self.orders.get(order_id) if order_id is not None else None

    async def cancel_order(self, symbol: str, order_id: str) -> OrderResult:
        """Paper orders are IOC and final at once: there is never anything to cancel."""
        raise OrderRejected(f"order {order_id} is not open", venue=self.id)

    def _take(
        self, symbol: str, side: str, amount: Decimal, limit: Decimal | None
    ) -> tuple[Decimal, Decimal]:
        book = self._book(symbol)
        if book is None:
            return ZERO, ZERO
        known = self._taken.get(symbol)
        taken = known[1] if known is not None and known[0] is book else {}
        self._taken[symbol] = (book, taken)
        levels: tuple[Level, ...] = book.asks if side == "buy" else book.bids
        filled = cost = ZERO
        for raw_price, raw_size in levels:
            price = Decimal(repr(raw_price))
            if limit is not None and (price > limit if side == "buy" else price < limit):
                break
            key = (side, price)
            size = min(Decimal(repr(raw_size)) - taken.get(key, ZERO), amount - filled)
            if size > 0:
                taken[key] = taken.get(key, ZERO) + size
                filled += size
                cost += size * price
            if filled == amount:
                break
        return filled, cost

    def _add(self, currency: str, delta: Decimal) -> None:
        self.free[currency] = self.free.get(currency, ZERO) + delta


def paper_venues(
    markets: Mapping[str, Callable[[str], MarketInfo]],
    balances: Mapping[str, Mapping[str, Decimal]],
    book: Callable[[str, str], OrderBook | None],
) -> dict[str, PaperVenue]:
    """One paper wallet per venue: `markets[venue]` is the real venue's `market`,
    `book(venue, symbol)` its latest usable book, `balances[venue]` the starting wallet."""
    return {
        venue_id: PaperVenue(
            venue_id,
            market=market,
            book=_books_of(book, venue_id),
            balances=balances.get(venue_id, {}),
        )
        for venue_id, market in markets.items()
    }


def _books_of(
    book: Callable[[str, str], OrderBook | None], venue_id: str
) -> Callable[[str], OrderBook | None]:
    return lambda symbol: book(venue_id, symbol)
