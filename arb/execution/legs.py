"""One order of a trade: send it once as an IOC limit, then learn its outcome by fresh queries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from loguru import logger

from arb.domain.symbols import MarketInfo
from arb.errors import ArbError, OrderRejected, OrderThrottled, OrderUnknown
from arb.venues.adapter import Balance, OrderResult, OrderStatus

ZERO = Decimal(0)


class TradingVenue(Protocol):
    """What execution uses of a venue: `arb.venues.adapter.Venue` or the paper wallet."""

    @property
    def id(self) -> str:
        """Settings venue id."""
        ...

    def market(self, symbol: str) -> MarketInfo:
        """The loaded market of `symbol`."""
        ...

    async def fetch_balance(self) -> Balance:
        """A fresh balance."""
        ...

    def balance_wait(self) -> float:
        """Seconds a balance read started now would wait for the venue's rate limit."""
        ...

    async def fetch_trading_fee(self, symbol: str) -> Decimal:
        """The account's taker fee for `symbol`."""
        ...

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
        """Place an IOC order once."""
        ...

    async def fetch_order(
        self, symbol: str, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderResult | None:
        """A fresh view of an order, None when the venue has no such order."""
        ...

    async def cancel_order(self, symbol: str, order_id: str) -> OrderResult:
        """Cancel an open order."""
        ...


class Role(StrEnum):
    """Why an order was sent."""

    LEG = "leg"
    UNWIND = "unwind"
    HEDGE = "hedge"


@dataclass(frozen=True, slots=True)
class Order:
    """An order we send: exactly what goes to the venue."""

    client_order_id: str
    venue: str
    symbol: str
    side: str  # buy | sell
    role: Role
    amount: Decimal
    price: Decimal  # IOC limit


class AckKind(StrEnum):
    """How the create call ended."""

    ACCEPTED = "accepted"  # the venue answered with an order
    REJECTED = "rejected"  # the venue refused it: nothing was placed
    UNKNOWN = "unknown"  # no answer: it may or may not be placed


@dataclass(frozen=True, slots=True)
class Ack:
    """The answer to a create call."""

    kind: AckKind
    result: OrderResult | None = None
    error: str | None = None
    at: float = 0.0  # monotonic time the call ended


@dataclass(frozen=True, slots=True)
class LegResult:
    """An order and what the venue finally said about it."""

    order: Order
    result: OrderResult | None  # the freshest venue view, None if never seen
    known: bool  # False: the order may exist and its fills are not known
    error: str | None = None

    @property
    def filled(self) -> Decimal:
        """Base amount traded (0 when rejected or unknown)."""
        return self.result.filled if self.result is not None else ZERO

    @property
    def cost(self) -> Decimal:
        """Quote amount traded, before fees."""
        return self.result.cost if self.result is not None else ZERO

    @property
    def status(self) -> str:
        """The ledger status of the order."""
        if not self.known:
            return "unknown"
        if self.result is None:
            return "rejected"
        return str(self.result.status)

    def base_change(self, market: MarketInfo) -> Decimal:
        """What the order changed the account's base holding by: fills less fees taken in base."""
        result = self.result
        if result is None:
            return ZERO
        in_base = sum((fee.cost for fee in result.fees if fee.currency == market.base), ZERO)
        return (result.filled if self.order.side == "buy" else -result.filled) - in_base

    def fee_in_quote(self, market: MarketInfo, *, base: bool = True) -> Decimal:
        """Fees in the quote currency: base fees at the fill price (left out with base=False:
        they are coins not received), points fees from the fee rate."""
        result = self.result
        if result is None:
            return ZERO
        price = result.average or self.order.price
        total = ZERO
        for fee in result.fees:
            if fee.currency == market.quote:
                total += fee.cost
            elif fee.currency == market.base:
                total += fee.cost * price if base else ZERO
            else:
                # Paid in points (GT, MX): not convertible here, so charge the taker rate.
                total += result.cost * market.taker_fee
        return total


Observe = Callable[[str, bool, float], None]  # (venue, ok, seconds) for venue health


async def send(
    venue: TradingVenue,
    order: Order,
    *,
    timeout_s: float,
    observe: Observe,
    clock: Callable[[], float] = time.monotonic,
) -> Ack:
    """Send `order` exactly once; every ending is an Ack, never an exception."""
    start = clock()
    kind, result, error, healthy = AckKind.ACCEPTED, None, None, True
    try:
        # A timeout scope, not wait_for: the request leaves from this task at once rather
        # than from a new one on the loop's next turn.
        async with asyncio.timeout(timeout_s):
            result = await venue.create_order(
                order.symbol, order.side, order.amount, order.price, order.client_order_id
            )
    except OrderUnknown as exc:
        kind, error, healthy = AckKind.UNKNOWN, str(exc), False
    except TimeoutError:
        kind, error, healthy = AckKind.UNKNOWN, f"no answer within {timeout_s} s", False
    except OrderThrottled as exc:
        kind, error, healthy = AckKind.REJECTED, str(exc), False  # refused, and a strain sign
    except OrderRejected as exc:
        kind, error = AckKind.REJECTED, str(exc)  # the venue works; it said no
    except ArbError as exc:
        # The adapter turns every in-transit failure into OrderUnknown; what is left here
        # is a refusal before anything was placed (keys, unknown symbol, bad argument).
        kind, error, healthy = AckKind.REJECTED, str(exc), False
    except Exception as exc:  # noqa: BLE001 - an unclassified failure leaves the order unknown
        logger.opt(exception=exc).error("{}: create {} failed unexpectedly", venue.id, order)
        kind, error, healthy = AckKind.UNKNOWN, f"{type(exc).__name__}: {exc}", False
    observe(venue.id, healthy, clock() - start)
    return Ack(kind, result=result, error=error, at=clock())


async def settle(
    venue: TradingVenue,
    order: Order,
    ack: Ack,
    *,
    attempts: int,
    delay_s: float,
    observe: Observe,
    clock: Callable[[], float] = time.monotonic,
) -> LegResult:
    """Query the order fresh until it is final (by id, else by client order id); never resend.

    A refused order is final with nothing filled. An IOC that is still open after a query
    is cancelled so its fills stop changing. After `attempts` queries without a final
    answer the order is unknown, unless the create answer itself was final.
    """
    if ack.kind is AckKind.REJECTED:
        return LegResult(order, None, known=True, error=ack.error)
    last = ack.result
    order_id = last.id if last is not None else None
    error = ack.error
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(delay_s)
        start = clock()
        try:
            found = await venue.fetch_order(
                order.symbol,
                order_id=order_id,
                client_order_id=None if order_id else order.client_order_id,
            )
        except ArbError as exc:
            observe(venue.id, False, clock() - start)
            error = str(exc)
            continue
        observe(venue.id, True, clock() - start)
        if found is None:
            error = "the venue does not know the order (yet)"
            continue
        last, order_id = found, found.id or order_id
        if found.final:
            return LegResult(order, found, known=True)
        if found.status is OrderStatus.OPEN and order_id is not None and attempt:
            await _cancel(venue, order, order_id)
    if last is not None and last.final:
        logger.warning("{}: settled {} from the create answer: {}", venue.id, order, error)
        return LegResult(order, last, known=True, error=error)
    return LegResult(order, last, known=False, error=error or "no final state")


async def _cancel(venue: TradingVenue, order: Order, order_id: str) -> None:
    try:
        await venue.cancel_order(order.symbol, order_id)
    except ArbError as exc:
        # Most often the IOC finished between the query and the cancel: the next query says.
        logger.info("{}: cancel of {} refused: {}", venue.id, order.client_order_id, exc)
