"""Start-up reconciliation: intents an earlier run left unfinished, settled from fresh queries."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from loguru import logger

from arb.domain.symbols import MarketInfo
from arb.errors import ArbError
from arb.execution import records
from arb.execution.executor import IntentState
from arb.execution.legs import LegResult, Order, Role, TradingVenue
from arb.execution.policy import filled_as_sent, tradable
from arb.execution.risk import wall_ms
from arb.execution.totals import fee_fields, summarize
from arb.ledger import Ledger

_FINAL = ("closed", "canceled", "expired", "rejected")


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What an unfinished intent turned out to be."""

    intent_id: str
    symbol: str
    state: IntentState  # HALTED when an order is still unknown
    residual: Decimal  # unhedged base left (received - sold)
    needs_operator: bool  # unknown orders, or a residual large enough to trade
    reason: str


async def reconcile(
    ledger: Ledger, venues: Mapping[str, TradingVenue], *, clock_ms: Callable[[], int] = wall_ms
) -> list[Reconciled]:
    """Query every order of every pending or halted intent fresh and book the outcome.

    A residual position is not traded away here: its reference price is stale, so it is
    reported (`needs_operator`) and the caller trips the breaker.
    """
    intents = await ledger.query(
        "SELECT id, symbol, buy_exchange, sell_exchange FROM intents "
        "WHERE state IN ('pending', 'halted') ORDER BY created_at_ms"
    )
    done = []
    for intent in intents:
        done.append(await _reconcile_intent(ledger, venues, intent, clock_ms))
    return done


async def _reconcile_intent(
    ledger: Ledger,
    venues: Mapping[str, TradingVenue],
    intent: sqlite3.Row,
    clock_ms: Callable[[], int],
) -> Reconciled:
    intent_id, symbol = intent["id"], intent["symbol"]
    rows = await ledger.query(
        "SELECT * FROM orders WHERE intent_id = ? ORDER BY created_at_ms, rowid", (intent_id,)
    )
    legs = [await _fresh(venues, row) for row in rows]
    now = clock_ms()
    statements = []
    for leg in legs:
        venue = venues.get(leg.order.venue)
        if venue is None or (leg.result is None and not leg.known):
            continue
        fee, currency = fee_fields(leg, venue.market(leg.order.symbol))
        statements.append(records.order_update(leg, fee, currency, now))
        # The first run may have booked this order's fill already: book it exactly once.
        statements.append(
            ("DELETE FROM fills WHERE client_order_id = ?", (leg.order.client_order_id,))
        )
        if leg.filled > 0:
            statements.append(records.fill_row(leg, fee, currency, now))
    names = {leg.order.venue for leg in legs} & set(venues)
    markets = {v: venues[v].market(symbol) for v in names}
    totals = summarize(legs, markets)
    unknown = [leg for leg in legs if not leg.known]
    if unknown:
        state = IntentState.HALTED
        reason = "still unknown at start: " + ", ".join(
            f"{leg.order.venue} {leg.order.client_order_id}" for leg in unknown
        )
    elif not totals.bought and not totals.sold:
        state, reason = IntentState.FAILED, "reconciled at start: nothing filled"
    elif not totals.residual or filled_as_sent(legs):
        state, reason = IntentState.SETTLED, "reconciled at start"
        if len(legs) > 2:
            state = IntentState.ONE_LEGGED
    else:
        state = IntentState.ONE_LEGGED
        reason = f"reconciled at start: residual {totals.residual} {symbol.split('/')[0]}"
    statements.append(
        records.intent_update(intent_id, state=state, reason=reason, cycle_ms=None, now_ms=now)
    )
    if state is not IntentState.HALTED:
        statements.append(("DELETE FROM trades WHERE intent_id = ?", (intent_id,)))
        statements.append(
            records.trade_row(
                intent_id,
                symbol=symbol,
                buy_venue=intent["buy_exchange"],
                sell_venue=intent["sell_exchange"],
                totals=totals,
                one_legged=state is IntentState.ONE_LEGGED,
                now_ms=now,
            )
        )
    await ledger.write(*statements)
    needs_operator = bool(unknown) or _tradable_residual(legs, markets, totals.residual)
    (logger.error if needs_operator else logger.warning)(
        "reconciled intent {} ({}): {} - {}", intent_id, symbol, state, reason
    )
    return Reconciled(intent_id, symbol, state, totals.residual, needs_operator, reason)


async def _fresh(venues: Mapping[str, TradingVenue], row: sqlite3.Row) -> LegResult:
    order = Order(
        client_order_id=row["client_order_id"],
        venue=row["exchange"],
        symbol=row["symbol"],
        side=row["side"],
        role=Role(row["role"]),
        amount=Decimal(row["amount"]),
        price=Decimal(row["price"]),
    )
    if row["status"] == "rejected":
        return LegResult(order, None, known=True, error=row["error"])
    venue = venues.get(order.venue)
    if venue is None:
        return LegResult(order, None, known=False, error=f"venue {order.venue} is not open")
    try:
        order_id = row["order_id"]
        found = await venue.fetch_order(
            order.symbol,
            order_id=order_id,
            client_order_id=None if order_id else order.client_order_id,
        )
    except ArbError as exc:
        return LegResult(order, None, known=False, error=str(exc))
    if found is None:
        # Asked long after the crash: a venue that has no such order never received it.
        return LegResult(order, None, known=True, error="never reached the venue")
    if not found.final:
        return LegResult(order, found, known=False, error="still open at the venue")
    return LegResult(order, found, known=True)


def _tradable_residual(
    legs: list[LegResult], markets: Mapping[str, MarketInfo], residual: Decimal
) -> bool:
    return any(
        tradable(abs(residual), leg.order.price, markets[leg.order.venue])
        for leg in legs
        if residual and leg.order.venue in markets
    )
