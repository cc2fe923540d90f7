"""A trade's totals over all its orders: base traded, quote flows, fees and realised P&L."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from arb.domain.symbols import MarketInfo
from arb.execution.legs import LegResult

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Totals:
    """A trade's flows over all its orders, in base and quote."""

    bought: Decimal
    sold: Decimal
    buy_cost: Decimal
    sell_proceeds: Decimal
    fees: Decimal  # quote; a fee taken in base valued at its fill price
    residual: Decimal  # base received - sold: unhedged base left (fees in base excluded)
    mark: Decimal  # price the residual is valued at: its own average fill price
    # sell_proceeds - buy_cost - fees not taken in base + residual * mark: a fee taken in
    # base is already counted, as coins missing from the residual
    pnl: Decimal


def summarize(legs: Sequence[LegResult], markets: Mapping[str, MarketInfo]) -> Totals:
    """Sum the trade's orders; the residual is valued at what it cost (no paper gain)."""
    buys = [leg for leg in legs if leg.order.side == "buy"]
    sells = [leg for leg in legs if leg.order.side == "sell"]
    bought = sum((leg.filled for leg in buys), ZERO)
    sold = sum((leg.filled for leg in sells), ZERO)
    buy_cost = sum((leg.cost for leg in buys), ZERO)
    proceeds = sum((leg.cost for leg in sells), ZERO)
    fees = sum((leg.fee_in_quote(markets[leg.order.venue]) for leg in legs), ZERO)
    paid = sum((leg.fee_in_quote(markets[leg.order.venue], base=False) for leg in legs), ZERO)
    residual = sum((leg.base_change(markets[leg.order.venue]) for leg in legs), ZERO)
    mark = ZERO
    if residual > 0 and bought:
        mark = buy_cost / bought
    elif residual < 0 and sold:
        mark = proceeds / sold
    pnl = proceeds - buy_cost - paid + residual * mark
    return Totals(bought, sold, buy_cost, proceeds, fees, residual, mark, pnl)


def fee_fields(leg: LegResult, market: MarketInfo) -> tuple[Decimal, str]:
    """The order's fee as the venue charged it, or in quote when it charged several."""
    result = leg.result
    if result is not None and len(result.fees) == 1:
        return result.fees[0].cost, result.fees[0].currency
    return leg.fee_in_quote(market), market.quote
