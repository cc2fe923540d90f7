"""Ledger statements for intents, orders, fills and trades (money as exact decimal strings)."""

from __future__ import annotations

from decimal import Decimal

from arb.domain.opportunity import Opportunity
from arb.execution.legs import LegResult, Order
from arb.execution.totals import Totals
from arb.ledger import Params, insert


def intent_row(
    intent_id: str,
    opp: Opportunity,
    *,
    amount: Decimal,
    buy_price: Decimal,
    sell_price: Decimal,
    expected_net: Decimal,
    worst_net: Decimal | None,
    state: str,
    reason: str | None,
    now_ms: int,
) -> tuple[str, Params]:
    """A new intent: the trade we mean to do (or skipped, with why).

    `amount` is the base sold (the buy may be grossed up for a fee taken in base: its order
    row has its own amount); the prices are the IOC limits; `expected_net` is what it earns
    filled as walked, `worst_net` filled at both limits (None when nothing was sized).
    """
    return insert(
        "intents",
        {
            "id": intent_id,
            "created_at_ms": now_ms,
            "symbol": opp.symbol,
            "buy_exchange": opp.buy_venue,
            "sell_exchange": opp.sell_venue,
            "amount": amount,
            "buy_price": buy_price,
            "sell_price": sell_price,
            "expected_profit": expected_net,
            "worst_case_profit": worst_net,
            "state": state,
            "reason": reason,
            "updated_at_ms": now_ms,
        },
    )


def intent_update(
    intent_id: str, *, state: str, reason: str | None, cycle_ms: float | None, now_ms: int
) -> tuple[str, Params]:
    """The intent's final (or halted) state."""
    return (
        "UPDATE intents SET state = ?, reason = ?, cycle_ms = COALESCE(?, cycle_ms), "
        "updated_at_ms = ? WHERE id = ?",
        (state, reason, cycle_ms, now_ms, intent_id),
    )


def order_row(intent_id: str, order: Order, now_ms: int) -> tuple[str, Params]:
    """An order about to be sent (status `sending`): written before the request leaves."""
    return insert(
        "orders",
        {
            "client_order_id": order.client_order_id,
            "intent_id": intent_id,
            "exchange": order.venue,
            "symbol": order.symbol,
            "side": order.side,
            "role": str(order.role),
            "amount": order.amount,
            "price": order.price,
            "status": "sending",
            "created_at_ms": now_ms,
            "updated_at_ms": now_ms,
        },
    )


def order_update(
    leg: LegResult, fee: Decimal, fee_currency: str, now_ms: int
) -> tuple[str, Params]:
    """What the venue finally said about an order; `fee` in `fee_currency`."""
    result = leg.result
    return (
        "UPDATE orders SET order_id = COALESCE(?, order_id), status = ?, filled = ?, "
        "average = ?, cost = ?, fee = ?, fee_currency = ?, error = ?, updated_at_ms = ? "
        "WHERE client_order_id = ?",
        (
            None if result is None else result.id,
            leg.status,
            leg.filled,
            None if result is None else result.average,
            leg.cost,
            fee,
            fee_currency,
            leg.error,
            now_ms,
            leg.order.client_order_id,
        ),
    )


def fill_row(leg: LegResult, fee: Decimal, fee_currency: str, now_ms: int) -> tuple[str, Params]:
    """The order's fills as one row at their average price (venues report them aggregated)."""
    result = leg.result
    if result is None or result.filled <= 0:
        raise ValueError(f"no fills on {leg.order.client_order_id}")
    return insert(
        "fills",
        {
            "client_order_id": leg.order.client_order_id,
            "at_ms": result.timestamp or now_ms,
            "amount": result.filled,
            "price": result.average or leg.order.price,
            "fee": fee,
            "fee_currency": fee_currency,
        },
    )


def trade_row(
    intent_id: str,
    *,
    symbol: str,
    buy_venue: str,
    sell_venue: str,
    totals: Totals,
    one_legged: bool,
    now_ms: int,
) -> tuple[str, Params]:
    """What the trade did in the end, fees and realised P&L in the quote currency."""
    return insert(
        "trades",
        {
            "intent_id": intent_id,
            "at_ms": now_ms,
            "symbol": symbol,
            "buy_exchange": buy_venue,
            "sell_exchange": sell_venue,
            "bought": totals.bought,
            "sold": totals.sold,
            "buy_cost": totals.buy_cost,
            "sell_proceeds": totals.sell_proceeds,
            "fees": totals.fees,
            "realized_pnl": totals.pnl,
            "one_legged": int(one_legged),
        },
    )
