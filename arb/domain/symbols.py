"""Unified symbols, per-venue market facts, the symbol-resolution table and symbol selection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from arb.domain.rounding import EXACT

_ONE = Decimal(1)
# The `symbols` setting / --symbols value meaning "every pair in `quote_currencies` tradable
# on the chosen venues" (as parsed by arb.config).
ALL_PAIRS: tuple[str, ...] = ("all",)


@dataclass(frozen=True, slots=True)
class Symbol:
    """A spot pair named the ccxt way: base and quote currency codes."""

    base: str
    quote: str

    @classmethod
    def parse(cls, text: str) -> Symbol:
        """Parse `BASE/QUOTE` (ccxt's unified form); raise ValueError otherwise."""
        base, sep, quote = text.strip().upper().partition("/")
        if not sep or not base or not quote or "/" in quote or ":" in quote:
            raise ValueError(f"not a unified spot symbol (want BASE/QUOTE): {text!r}")
        return cls(base, quote)

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """What one venue says about one spot market; all steps and limits exact."""

    venue: str  # settings venue id: "mexc" or "gateio"
    symbol: str  # unified, "BTC/USDT"
    native_id: str  # the venue's own id: "BTCUSDT", "BTC_USDT"
    base: str
    quote: str
    amount_step: Decimal  # orders' amounts are whole multiples of this
    price_step: Decimal
    min_amount: Decimal  # 0 when the venue sets none
    min_notional: Decimal  # quote currency; 0 when the venue sets none
    taker_fee: Decimal  # fraction, 0.001 = 0.1 %
    active: bool
    # The venue takes a buy's fee from the base coins it delivers (MEXC and Gate do by
    # default): a buy must be grossed up to receive the amount the other leg sells.
    buy_fee_in_base: bool = False
    # Derived from taker_fee once, for the per-update evaluation (not compared, not shown):
    fee_float: float = field(init=False, repr=False, compare=False)  # screens only
    pay_rate: Decimal = field(init=False, repr=False, compare=False)  # 1 + taker_fee
    keep_rate: Decimal = field(init=False, repr=False, compare=False)  # 1 - taker_fee

    def __post_init__(self) -> None:
        fee = self.taker_fee
        object.__setattr__(self, "fee_float", float(fee))
        object.__setattr__(self, "pay_rate", EXACT.add(_ONE, fee))
        object.__setattr__(self, "keep_rate", EXACT.subtract(_ONE, fee))


_EMPTY: Mapping[str, Any] = MappingProxyType({})


class SymbolTable:
    """Which markets each venue lists, keyed for hot-path lookups in both directions.

    Built once from every venue's `MarketInfo` list. Lookups are two plain dict hits (venue,
    then key) and return None for an unknown venue, native id or symbol; callers that need
    an error raise their own (`arb.errors.SymbolUnknown`). Hits cost about one method call
    more than a bare dict; misses go through a caught KeyError and cost a few times that.
    """

    __slots__ = ("_market", "_native_id", "_symbol", "venues")

    def __init__(self, markets: Iterable[MarketInfo]) -> None:
        """Index `markets`; raise ValueError if a venue lists a symbol or native id twice."""
        self._symbol: dict[str, dict[str, str]] = {}  # venue -> native id -> unified symbol
        self._native_id: dict[str, dict[str, str]] = {}  # venue -> unified symbol -> native id
        self._market: dict[str, dict[str, MarketInfo]] = {}  # venue -> unified symbol -> info
        for market in markets:
            by_symbol = self._market.setdefault(market.venue, {})
            by_native = self._symbol.setdefault(market.venue, {})
            known = by_symbol.get(market.symbol)
            if known is not None and known != market:
                raise ValueError(f"{market.venue}: {market.symbol} listed twice")
            if by_native.get(market.native_id, market.symbol) != market.symbol:
                raise ValueError(
                    f"{market.venue}: native id {market.native_id} names two symbols: "
                    f"{by_native[market.native_id]} and {market.symbol}"
                )
            by_symbol[market.symbol] = market
            by_native[market.native_id] = market.symbol
            self._native_id.setdefault(market.venue, {})[market.symbol] = market.native_id
        self.venues: tuple[str, ...] = tuple(sorted(self._market))

    def get_symbol(self, venue: str, native_id: str) -> str | None:
        """Unified symbol of the venue's native id (`BTC_USDT` -> `BTC/USDT`), or None."""
        try:
            return self._symbol[venue][native_id]
        except KeyError:
            return None

    def get_native_id(self, venue: str, symbol: str) -> str | None:
        """The venue's own id for a unified symbol (`BTC/USDT` -> `BTCUSDT`), or None."""
        try:
            return self._native_id[venue][symbol]
        except KeyError:
            return None

    def get_market(self, venue: str, symbol: str) -> MarketInfo | None:
        """What the venue says about the unified symbol, or None if it does not list it."""
        try:
            return self._market[venue][symbol]
        except KeyError:
            return None

    def symbols_of(self, venue: str) -> Mapping[str, str]:
        """The venue's native id -> unified symbol map, for hot paths to index directly.

        Read-only by contract (it is the table's own dict, handed out to spare the method
        call per lookup); empty for an unknown venue.
        """
        return self._symbol.get(venue, _EMPTY)

    def markets_of(self, venue: str) -> Mapping[str, MarketInfo]:
        """The venue's unified symbol -> MarketInfo map (read-only by contract)."""
        return self._market.get(venue, _EMPTY)

    def common_symbols(self, venues: Iterable[str]) -> tuple[str, ...]:
        """Symbols listed and active on every one of `venues`, sorted; () for no venues."""
        active = [
            {s for s, m in self._market.get(venue, {}).items() if m.active} for venue in venues
        ]
        return tuple(sorted(set.intersection(*active))) if active else ()

    def single_venue_symbols(
        self, venues: Iterable[str] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """For each venue (default: all), the symbols it lists that none of the others do."""
        chosen = self.venues if venues is None else tuple(dict.fromkeys(venues))
        listed = {venue: set(self._market.get(venue, {})) for venue in chosen}
        only: dict[str, tuple[str, ...]] = {}
        for venue, symbols in listed.items():
            elsewhere = set().union(*(s for v, s in listed.items() if v != venue))
            only[venue] = tuple(sorted(symbols - elsewhere))
        return only


@dataclass(frozen=True, slots=True)
class Selection:
    """The symbols to watch and what the user should know about the ones left out."""

    symbols: tuple[str, ...]
    notes: tuple[str, ...]


def select_symbols(
    table: SymbolTable,
    venues: Sequence[str],
    wanted: Sequence[str],
    quotes: Sequence[str],
    pending: Sequence[str] = (),
) -> Selection:
    """Pick the symbols active on at least two chosen venues; explain every one left out.

    `wanted` is ALL_PAIRS or unified symbols; ALL_PAIRS takes every pair quoted in `quotes`
    (with two chosen venues: every such pair active on both). `arb scan`, `arb run` and
    `arb symbols` all select with this, so they agree on what `all` means. `venues`
    answered; `pending` did not yet. A requested symbol active on one answered venue is
    watched there already when a pending venue could make it two. With ALL_PAIRS, only pairs
    two answered venues list are watched (the rest wait for a venue to join).
    """
    all_pairs = tuple(wanted) == ALL_PAIRS
    notes: list[str] = []
    listed = {v: table.common_symbols([v]) for v in venues}
    if all_pairs:
        candidates = sorted(
            {s for symbols in listed.values() for s in symbols if s.split("/")[1] in quotes}
        )
    else:
        candidates = list(wanted)
    chosen: list[str] = []
    for symbol in candidates:
        on = [v for v in venues if (m := table.get_market(v, symbol)) is not None and m.active]
        if len(on) >= 2:
            chosen.append(symbol)
        elif on and pending and not all_pairs and len(on) + len(pending) >= 2:
            chosen.append(symbol)
            notes.append(
                f"{symbol}: active only on {on[0]} so far; waiting for {', '.join(pending)}"
            )
        elif not all_pairs:
            where = f"active only on {on[0]}" if on else "not active on any chosen venue"
            notes.append(f"{symbol}: {where}; skipped")
    if all_pairs:
        for venue, only in table.single_venue_symbols(venues).items():
            quoted = [s for s in only if s.split("/")[1] in quotes]
            if quoted:
                plural = "s are" if len(quoted) != 1 else " is"
                notes.append(f"{len(quoted)} symbol{plural} listed only on {venue}")
    return Selection(tuple(chosen), tuple(notes))
