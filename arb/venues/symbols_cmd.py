"""`arb symbols`: load the chosen venues' spot markets and show how each symbol trades there."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from arb.config import Settings
from arb.domain.symbols import ALL_PAIRS, MarketInfo, Symbol, SymbolTable, select_symbols
from arb.venues.adapter import Venue
from arb.venues.profiles import profile_for


@dataclass(frozen=True, slots=True)
class SymbolRow:
    """One unified symbol and what each chosen venue says about it (None: not listed)."""

    symbol: str
    markets: tuple[tuple[str, MarketInfo | None], ...]  # (venue, market) in venue order


async def load_table(settings: Settings, venue_ids: Sequence[str]) -> SymbolTable:
    """Load the spot markets of `venue_ids` concurrently into one SymbolTable."""
    async with AsyncExitStack() as stack:
        venues = [
            await stack.enter_async_context(Venue(settings.venue(venue_id)))
            for venue_id in venue_ids
        ]
        loaded = await asyncio.gather(*(venue.load_markets() for venue in venues))
    return SymbolTable(market for markets in loaded for market in markets)


def build_rows(
    table: SymbolTable, venue_ids: Sequence[str], symbols: Sequence[str], quotes: Sequence[str]
) -> tuple[SymbolRow, ...]:
    """Rows for `symbols` (or for every pair `all` selects, as scan does), sorted by symbol."""
    if tuple(symbols) == ALL_PAIRS:
        wanted = list(select_symbols(table, venue_ids, ALL_PAIRS, quotes).symbols)
    else:
        wanted = sorted({str(Symbol.parse(text)) for text in symbols})
    return tuple(
        SymbolRow(
            symbol=symbol,
            markets=tuple((venue, table.get_market(venue, symbol)) for venue in venue_ids),
        )
        for symbol in wanted
    )


def _text(value: Decimal) -> str:
    # Exact and readable: no exponent, no trailing zeros ("0.000001", "1", "0.002").
    return f"{value.normalize():f}"


def to_json(rows: Sequence[SymbolRow]) -> str:
    """The rows as JSON: decimals as exact strings, a venue that does not list it as null."""
    out = [
        {
            "symbol": row.symbol,
            "venues": {
                venue: None
                if market is None
                else {
                    "native_id": market.native_id,
                    "price_step": _text(market.price_step),
                    "amount_step": _text(market.amount_step),
                    "min_amount": _text(market.min_amount),
                    "min_notional": _text(market.min_notional),
                    "taker_fee": _text(market.taker_fee),
                    "active": market.active,
                    "level": profile_for(venue).level,
                }
                for venue, market in row.markets
            },
        }
        for row in rows
    ]
    return json.dumps(out, indent=2)


def to_table(rows: Sequence[SymbolRow]) -> Table:
    """The rows as a rich table, one line per symbol and venue."""
    table = Table(title="Spot markets")
    for header in ("symbol", "venue", "level", "native id", "price step", "amount step"):
        table.add_column(header)
    for header in ("min amount", "min notional", "taker fee", "active"):
        table.add_column(header, justify="right")
    for row in rows:
        for index, (venue, market) in enumerate(row.markets):
            symbol = row.symbol if index == 0 else ""
            if market is None:
                table.add_row(symbol, venue, "", "[dim]not listed[/dim]", *[""] * 6)
                continue
            table.add_row(
                symbol,
                venue,
                profile_for(venue).level,
                market.native_id,
                _text(market.price_step),
                _text(market.amount_step),
                _text(market.min_amount),
                _text(market.min_notional),
                _text(market.taker_fee),
                "yes" if market.active else "[red]no[/red]",
            )
    return table


async def run_symbols(
    settings: Settings,
    venue_ids: Sequence[str],
    symbols: Sequence[str],
    as_json: bool,
    *,
    console: Console | None = None,
) -> int:
    """Load markets, print the symbol table (rich or JSON).

    Exit 1 if a requested symbol is listed on no chosen venue, or `all` selects no pair.
    """
    venues = tuple(dict.fromkeys(profile_for(v).venue_id for v in venue_ids))
    table = await load_table(settings, venues)
    rows = build_rows(table, venues, symbols, settings.quote_currencies)
    out = console or Console()
    # Console output is blocking I/O: keep it off the event loop.
    if as_json:
        await asyncio.to_thread(out.out, to_json(rows), highlight=False)
    else:
        await asyncio.to_thread(out.print, to_table(rows))
    if not rows and tuple(symbols) == ALL_PAIRS:
        quotes = ", ".join(settings.quote_currencies)
        await asyncio.to_thread(
            out.print, f"[yellow]no pair in {quotes} is active on two of {', '.join(venues)}"
        )
        return 1
    nowhere = [row.symbol for row in rows if all(m is None for _, m in row.markets)]
    if nowhere:
        await asyncio.to_thread(
            out.print, f"[yellow]listed on none of {', '.join(venues)}: {', '.join(nowhere)}"
        )
        return 1
    return 0
