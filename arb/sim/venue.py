"""State of one simulated venue: balances, books and orders, and how orders execute."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from arb.sim.book import SimBook
from arb.sim.matching import floor_to, take, total
from arb.sim.scenario import MarketSpec, Scenario


class OrderStatus(StrEnum):
    """Venue-neutral order status; each protocol module spells it the venue's way."""

    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"


class RejectReason(StrEnum):
    """Why the venue refused a request; each protocol module answers in its error shape."""

    INSUFFICIENT_BALANCE = "insufficient_balance"
    MIN_NOTIONAL = "min_notional"
    MIN_AMOUNT = "min_amount"
    UNKNOWN_SYMBOL = "unknown_symbol"
    UNKNOWN_ORDER = "unknown_order"
    BAD_PARAM = "bad_param"
    REJECTED = "rejected"  # injected fault
    SERVER_ERROR = "server_error"  # injected fault; detail is the HTTP status
    MISSING_KEY = "missing_key"
    BAD_KEY = "bad_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"  # request timestamp outside the venue's window


class VenueReject(Exception):
    """A request the venue answers with an error."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        """Carry the reason and a short detail (a parameter name or a number)."""
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SimOrder:
    """An order as the venue keeps it; replaced (never mutated) on every change."""

    id: str
    client_id: str
    symbol: str
    side: str  # "buy" | "sell"
    kind: str  # "limit" | "market"
    tif: str  # "gtc" | "ioc" | "fok" | "poc"
    price: Decimal | None
    amount: Decimal | None  # base amount; None for a market buy by quote cost
    quote_amount: Decimal | None  # market buy by cost
    filled: Decimal
    cost: Decimal
    fee: Decimal
    fee_currency: str
    status: OrderStatus
    created_ms: int
    updated_ms: int

    @property
    def average(self) -> Decimal | None:
        """Average fill price, None before the first fill."""
        return self.cost / self.filled if self.filled else None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a client asked for, already translated from the venue's parameters."""

    symbol: str
    side: str
    kind: str
    tif: str
    price: Decimal | None
    amount: Decimal | None
    quote_amount: Decimal | None
    client_id: str


class VenueState:
    """Balances, books and orders of one venue."""

    def __init__(self, venue: str, scenario: Scenario, first_order_id: int) -> None:
        """Load the scenario's markets, balances and initial books for `venue`."""
        self.venue = venue
        self.markets: dict[str, MarketSpec] = {m.symbol: m for m in scenario.venue_markets(venue)}
        self.free: dict[str, Decimal] = dict(scenario.balances.get(venue, {}))
        self.locked: dict[str, Decimal] = {}
        self.books: dict[str, SimBook] = {}
        self.orders: dict[str, SimOrder] = {}
        self._by_client: dict[str, str] = {}
        self._ids = itertools.count(first_order_id)
        for number, symbol in enumerate(self.markets):
            self.books[symbol] = SimBook(symbol, version=1_000_000 * (number + 1))
        for spec in scenario.books:
            if spec.venue == venue and spec.symbol in self.books:
                self.books[spec.symbol].replace(spec.bids, spec.asks)
                self.books[spec.symbol].flush()

    def next_id(self) -> int:
        """A fresh numeric order id."""
        return next(self._ids)

    def market(self, symbol: str) -> MarketSpec:
        """The market of `symbol`; VenueReject when the venue does not list it."""
        spec = self.markets.get(symbol)
        if spec is None:
            raise VenueReject(RejectReason.UNKNOWN_SYMBOL, symbol)
        return spec

    def balance(self, currency: str) -> tuple[Decimal, Decimal]:
        """(free, locked) of one currency."""
        return self.free.get(currency, Decimal(0)), self.locked.get(currency, Decimal(0))

    def currencies(self) -> list[str]:
        """Every currency with a balance or a listed market, sorted."""
        codes = set(self.free) | set(self.locked)
        for spec in self.markets.values():
            codes.update((spec.base, spec.quote))
        return sorted(codes)

    def find(self, order_id: str = "", client_id: str = "") -> SimOrder:
        """Look an order up by venue id or client id."""
        key = order_id or self._by_client.get(client_id, "")
        order = self.orders.get(key)
        if order is None:
            raise VenueReject(RejectReason.UNKNOWN_ORDER, order_id or client_id)
        return order

    def place(self, order_id: str, req: OrderRequest, now_ms: int) -> SimOrder:
        """Execute an order as a taker; rest the remainder of a GTC limit order."""
        spec = self.market(req.symbol)
        book = self.books[req.symbol]
        buy = req.side == "buy"
        self._check_limits(spec, req)
        levels = book.top()[1] if buy else book.top()[0]
        limit = req.price if req.kind == "limit" else None
        fills = take(
            levels,
            buy,
            limit=limit,
            amount=req.amount,
            budget=req.quote_amount,
            step=spec.amount_step,
        )
        filled, cost = total(fills)
        if req.tif == "fok" and req.amount is not None and filled < req.amount:
            fills, filled, cost = (), Decimal(0), Decimal(0)
        crossed = req.tif == "poc" and bool(fills)
        if crossed:
            # post-only would have taken liquidity: the venue cancels it unfilled
            fills, filled, cost = (), Decimal(0), Decimal(0)
        rest = Decimal(0)
        resting = req.tif == "gtc" or (req.tif == "poc" and not crossed)
        if req.kind == "limit" and resting and req.amount is not None:
            rest = req.amount - filled
        spent = req.quote_amount is not None and bool(fills)
        if spent and req.quote_amount is not None:
            spent = req.quote_amount - cost < fills[-1].price * spec.amount_step
        self._reserve(spec, buy=buy, req=req, cost=cost, filled=filled, rest=rest)
        for fill in fills:
            side = book.asks if buy else book.bids
            book.set_level("ask" if buy else "bid", fill.price, side[fill.price] - fill.amount)
        fee = (filled if buy else cost) * spec.taker_fee
        self._settle(spec, buy, filled, cost, fee)
        order = SimOrder(
            id=order_id,
            client_id=req.client_id,
            symbol=req.symbol,
            side=req.side,
            kind=req.kind,
            tif=req.tif,
            price=req.price,
            amount=req.amount,
            quote_amount=req.quote_amount,
            filled=filled,
            cost=cost,
            fee=fee,
            fee_currency=spec.base if buy else spec.quote,
            status=_status(req, filled, rest, spent),
            created_ms=now_ms,
            updated_ms=now_ms,
        )
        self.orders[order.id] = order
        if req.client_id:
            self._by_client[req.client_id] = order.id
        return order

    def cancel(self, order: SimOrder, now_ms: int) -> SimOrder:
        """Cancel an open order and release what it locked."""
        if order.status not in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
            raise VenueReject(RejectReason.UNKNOWN_ORDER, order.id)
        spec = self.market(order.symbol)
        rest = (order.amount or Decimal(0)) - order.filled
        if order.side == "buy":
            self._move(spec.quote, rest * (order.price or Decimal(0)), unlock=True)
        else:
            self._move(spec.base, rest, unlock=True)
        done = replace(order, status=OrderStatus.CANCELED, updated_ms=now_ms)
        self.orders[order.id] = done
        return done

    def _check_limits(self, spec: MarketSpec, req: OrderRequest) -> None:
        if req.amount is not None and req.amount < spec.min_amount:
            raise VenueReject(RejectReason.MIN_AMOUNT, str(spec.min_amount))
        notional = req.quote_amount
        if notional is None and req.amount is not None and req.price is not None:
            notional = req.amount * req.price
        if notional is not None and notional < spec.min_notional:
            raise VenueReject(RejectReason.MIN_NOTIONAL, f"{notional}|{spec.min_notional}")

    def _reserve(
        self,
        spec: MarketSpec,
        *,
        buy: bool,
        req: OrderRequest,
        cost: Decimal,
        filled: Decimal,
        rest: Decimal,
    ) -> None:
        """Check the account can pay for the fills and the resting part, then lock the rest."""
        if buy:
            need = cost + rest * (req.price or Decimal(0))
            have = self.free.get(spec.quote, Decimal(0))
        else:
            need = filled + rest
            have = self.free.get(spec.base, Decimal(0))
        # a limit buy must be covered at its limit price, as venues freeze price * amount
        if buy and req.kind == "limit" and req.amount is not None and req.price is not None:
            need = max(need, req.amount * req.price)
        if req.quote_amount is not None:
            need = max(need, req.quote_amount)
        if need > have:
            raise VenueReject(RejectReason.INSUFFICIENT_BALANCE, f"{need}>{have}")
        if rest > 0:
            if buy:
                self._move(spec.quote, rest * (req.price or Decimal(0)), unlock=False)
            else:
                self._move(spec.base, rest, unlock=False)

    def _settle(
        self, spec: MarketSpec, buy: bool, filled: Decimal, cost: Decimal, fee: Decimal
    ) -> None:
        # the taker fee is charged in the currency received, as both venues do by default
        if buy:
            self._add(spec.quote, -cost)
            self._add(spec.base, filled - fee)
        else:
            self._add(spec.base, -filled)
            self._add(spec.quote, cost - fee)

    def _add(self, currency: str, delta: Decimal) -> None:
        self.free[currency] = self.free.get(currency, Decimal(0)) + delta

    def _move(self, currency: str, amount: Decimal, unlock: bool) -> None:
        sign = -1 if unlock else 1
        self._add(currency, -sign * amount)
        self.locked[currency] = self.locked.get(currency, Decimal(0)) + sign * amount


def _status(req: OrderRequest, filled: Decimal, rest: Decimal, spent: bool) -> OrderStatus:
    if rest > 0:
        return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
    if req.amount is not None and filled >= req.amount:
        return OrderStatus.FILLED
    if spent:
        # a market buy by cost is done once the budget cannot buy another amount step
        return OrderStatus.FILLED
    return OrderStatus.CANCELED


def round_amount(spec: MarketSpec, amount: Decimal) -> Decimal:
    """Truncate an amount to the market's amount step."""
    return floor_to(amount, spec.amount_step)
