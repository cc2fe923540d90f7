"""`arb balances`: fresh balances per venue, the combined holding per asset and its skew."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from arb.errors import ArbError
from arb.execution.legs import TradingVenue

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Holding:
    """One asset across the chosen venues (total = free + in open orders)."""

    asset: str
    by_venue: tuple[tuple[str, Decimal], ...]  # (venue, total) in venue order

    @property
    def combined(self) -> Decimal:
        """What the account holds of the asset over every venue."""
        return sum((amount for _, amount in self.by_venue), ZERO)

    @property
    def skew(self) -> Decimal:
        """The most held on one venue minus the least: what rebalancing would even out."""
        amounts = [amount for _, amount in self.by_venue]
        return max(amounts) - min(amounts)

    @property
    def skew_pct(self) -> Decimal:
        """The skew in percent of the combined holding (0 when nothing is held)."""
        combined = self.combined
        return ZERO if not combined else (100 * self.skew / combined).quantize(Decimal("0.01"))


def holdings(totals: Mapping[str, Mapping[str, Decimal]]) -> tuple[Holding, ...]:
    """Per asset held anywhere, each venue's total (0 where it holds none), sorted by asset."""
    venues = list(totals)
    assets = sorted({asset for held in totals.values() for asset, amount in held.items() if amount})
    return tuple(
        Holding(asset, tuple((venue, totals[venue].get(asset, ZERO)) for venue in venues))
        for asset in assets
    )


async def fetch_totals(venues: Sequence[TradingVenue]) -> dict[str, Mapping[str, Decimal]]:
    """Every venue's balance, fetched now and concurrently; the first failure is raised."""
    results = await asyncio.gather(*(v.fetch_balance() for v in venues), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result if isinstance(result, ArbError) else ArbError(str(result))
    return {
        venue.id: result.total  # type: ignore[union-attr]
        for venue, result in zip(venues, results, strict=True)
    }


def to_json(rows: Sequence[Holding]) -> str:
    """The holdings as JSON; amounts as exact strings."""
    return json.dumps(
        [
            {
                "asset": row.asset,
                "venues": {venue: str(amount) for venue, amount in row.by_venue},
                "combined": str(row.combined),
                "skew": str(row.skew),
                "skew_pct": str(row.skew_pct),
            }
            for row in rows
        ],
        indent=2,
    )


def to_table(rows: Sequence[Holding], venues: Sequence[str]) -> Table:
    """The holdings as a rich table: one line per asset."""
    table = Table(title="Balances (total per venue, fetched now)")
    table.add_column("asset")
    for venue in venues:
        table.add_column(venue, justify="right")
    for name in ("combined", "skew", "skew %"):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            row.asset,
            *(f"{amount.normalize():f}" for _, amount in row.by_venue),
            f"{row.combined.normalize():f}",
            f"{row.skew.normalize():f}",
            f"{row.skew_pct}",
        )
    return table


async def print_balances(
    venues: Sequence[TradingVenue], as_json: bool, console: Console | None = None
) -> int:
    """Fetch, summarise and print; exit code 0."""
    rows = holdings(await fetch_totals(venues))
    out = console or Console()
    if as_json:
        await asyncio.to_thread(out.out, to_json(rows), highlight=False)
    else:
        await asyncio.to_thread(out.print, to_table(rows, [v.id for v in venues]))
    return 0
