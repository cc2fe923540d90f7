"""Detection: on every book update, evaluate that symbol for every ordered pair of venues.

Only books that are usable take part. A book is usable after a valid update whose venue
timestamp was at most `max_age_ms` behind our wall clock when it arrived, while its stream is
connected, not resyncing, and has delivered a frame or heartbeat within `max_age_ms`. On a
venue that pushes book changes on a fixed cadence, a book whose last update is older than
`max_silence_ms` is not used either, however alive its connection looks (pongs say the
connection lives, not the subscription). A book that turned stale, silent, resyncing or
disconnected stays unusable until a fresh update arrives.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from arb.domain.book import OrderBook
from arb.domain.opportunity import Opportunity, find_opportunity
from arb.domain.symbols import MarketInfo
from arb.scan.histogram import Histogram


@dataclass(frozen=True, slots=True)
class Limits:
    """The money limits the finder applies."""

    max_notional: Decimal
    min_profit: Decimal
    min_profit_pct: Decimal


@dataclass(frozen=True, slots=True)
class OpportunityEvent:
    """An opportunity that appeared or changed, with when and how fast it was decided."""

    opportunity: Opportunity
    detected_at_ms: int  # wall clock
    latency_s: float  # from the triggering frame's arrival to this decision (monotonic)
    arrived_at: float  # monotonic time the triggering frame arrived: when it was "seen"
    books_since: float  # arrival time of the older of the two books it was found on


@dataclass(slots=True)
class _Slot:
    """The latest usable book of one (venue, symbol), or None while it may not be used."""

    book: OrderBook | None = None
    last_alive: float = float("-inf")  # monotonic time of the last frame or heartbeat
    max_silence_s: float = float("inf")  # the venue's book must update at least this often
    # What an update here is evaluated against, built once: one _Pair per other venue.
    pairs: list[_Pair] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Pair:
    """One other venue listing the symbol: its slot, both markets and both result keys."""

    other: _Slot
    market: MarketInfo  # this venue's market
    other_market: MarketInfo
    buy_here: tuple[str, str, str]  # (symbol, this venue, other venue)
    sell_here: tuple[str, str, str]  # (symbol, other venue, this venue)


@dataclass(slots=True)
class Stats:
    """Counters for the live view and the summary."""

    updates: dict[str, int] = field(default_factory=dict)
    stale_refused: dict[str, int] = field(default_factory=dict)
    opportunities: int = 0
    best: Opportunity | None = None
    # frame-arrival to decision, seconds, for every evaluated update (the most recent ones)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))
    latency: Histogram = field(default_factory=Histogram)  # the same, since start (metrics)


class Detector:
    """Holds the usable books and turns each update into opportunity events."""

    def __init__(
        self,
        markets: Mapping[str, Mapping[str, MarketInfo]],
        limits: Limits,
        max_age_ms: int,
        *,
        mono: Callable[[], float],
        wall_ms: Callable[[], int],
        max_silence_ms: Mapping[str, int] | None = None,
    ) -> None:
        # markets[symbol][venue]: only symbols listed on two or more chosen venues
        self._markets = {symbol: dict(listed) for symbol, listed in markets.items()}
        self._limits = limits
        self._max_age_s = max_age_ms / 1000
        self._max_age_ms = max_age_ms
        # venue -> seconds a book may go without an update (venues pushing on a cadence)
        self._max_silence_s = {v: ms / 1000 for v, ms in (max_silence_ms or {}).items()}
        self._mono = mono
        self._wall_ms = wall_ms
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._last: dict[tuple[str, str, str], tuple[Decimal, Decimal]] = {}
        self.current: dict[tuple[str, str, str], Opportunity] = {}
        self.stats = Stats()

    def _slot(self, venue: str, symbol: str) -> _Slot:
        slot = self._slots.get((venue, symbol))
        if slot is None:
            slot = self._slots[(venue, symbol)] = _Slot()  # stored first: pairs point back
            slot.max_silence_s = self._max_silence_s.get(venue, float("inf"))
            slot.pairs = self._pairs(venue, symbol)
        return slot

    def _pairs(self, venue: str, symbol: str) -> list[_Pair]:
        markets = self._markets.get(symbol, {})
        if venue not in markets:
            return []
        return [
            _Pair(
                self._slot(other, symbol),
                markets[venue],
                other_market,
                (symbol, venue, other),
                (symbol, other, venue),
            )
            for other, other_market in markets.items()
            if other != venue
        ]

    @property
    def limits(self) -> Limits:
        """The money limits in use."""
        return self._limits

    def set_limits(self, limits: Limits) -> None:
        """Use `limits` from the next evaluation on (settings reloaded while running)."""
        self._limits = limits

    def list_markets(self, symbol: str, markets: Mapping[str, MarketInfo]) -> None:
        """Evaluate `symbol` on `markets[venue]` from now on (a venue that joined late)."""
        self._markets[symbol] = dict(markets)
        for (venue, listed), slot in list(self._slots.items()):
            if listed == symbol:
                slot.pairs = self._pairs(venue, symbol)

    def alive(self, venue: str, symbol: str, at: float) -> None:
        """The stream delivered a heartbeat (or any frame) at monotonic time `at`."""
        slot = self._slot(venue, symbol)
        slot.last_alive = max(slot.last_alive, at)

    def unusable(self, venue: str, symbol: str) -> None:
        """The stream is resyncing, gapped, crossed or disconnected: drop its book."""
        slot = self._slot(venue, symbol)
        slot.book = None
        self._forget(symbol, venue)

    def usable_book(self, venue: str, symbol: str, now: float) -> OrderBook | None:
        """The book if it may be used at monotonic time `now`, else None (and drop it)."""
        slot = self._slots.get((venue, symbol))
        return None if slot is None else self._usable(slot, now)

    def _usable(self, slot: _Slot, now: float) -> OrderBook | None:
        book = slot.book
        if book is not None and (
            now - slot.last_alive > self._max_age_s or now - book.received_at > slot.max_silence_s
        ):
            # A silent connection, or a silent book on a live one: usable again only after
            # a fresh update.
            slot.book = None
        return slot.book

    def on_book(self, book: OrderBook, arrived_wall_ms: int) -> list[OpportunityEvent]:
        """Take one valid book update and return the opportunity events it causes."""
        venue, symbol, received = book.venue, book.symbol, book.received_at
        stats = self.stats
        updates = stats.updates
        updates[venue] = updates.get(venue, 0) + 1
        slot = self._slot(venue, symbol)
        slot.last_alive = max(slot.last_alive, received)
        if book.timestamp is not None and arrived_wall_ms - book.timestamp > self._max_age_ms:
            # A venue replaying old data: refuse it until a fresh update comes.
            stats.stale_refused[venue] = stats.stale_refused.get(venue, 0) + 1
            self.unusable(venue, symbol)
            return []
        bids, asks = book.bids, book.asks
        if not bids or not asks or bids[0][0] >= asks[0][0]:  # empty or crossed
            self.unusable(venue, symbol)
            return []
        slot.book = book
        events = self._evaluate(book, slot.pairs) if slot.pairs else []
        latency = self._mono() - received
        stats.latencies.append(latency)
        stats.latency.observe(latency)
        return events

    def _evaluate(self, book: OrderBook, pairs: list[_Pair]) -> list[OpportunityEvent]:
        now = self._mono()
        events: list[OpportunityEvent] = []
        limits = self._limits
        for pair in pairs:
            other_book = self._usable(pair.other, now)
            if other_book is None:
                self._forget(book.symbol, book.venue)
                continue
            since = min(book.received_at, other_book.received_at)
            for key, buy, sell, buy_m, sell_m in (
                (pair.buy_here, book, other_book, pair.market, pair.other_market),
                (pair.sell_here, other_book, book, pair.other_market, pair.market),
            ):
                found = find_opportunity(
                    buy,
                    sell,
                    buy_m,
                    sell_m,
                    max_notional=limits.max_notional,
                    min_profit=limits.min_profit,
                    min_profit_pct=limits.min_profit_pct,
                )
                if found is None:
                    if key in self._last:
                        del self._last[key]
                        self.current.pop(key, None)
                    continue
                event = self._changed(key, found, book.received_at, since)
                if event is not None:
                    events.append(event)
        if len(events) > 1:
            # Several venue pairs cross at once: the best comes first, so the executor,
            # which takes one trade at a time, trades the best pair of the symbol.
            events.sort(key=lambda e: e.opportunity.net_profit, reverse=True)
        return events

    def _changed(
        self,
        key: tuple[str, str, str],
        found: Opportunity,
        arrived: float,
        books_since: float,
    ) -> OpportunityEvent | None:
        signature = (found.amount, found.net_profit)
        if self._last.get(key) == signature:
            return None
        self._last[key] = signature
        self.current[key] = found
        stats = self.stats
        stats.opportunities += 1
        if stats.best is None or found.net_profit > stats.best.net_profit:
            stats.best = found
        return OpportunityEvent(
            found, self._wall_ms(), self._mono() - arrived, arrived, books_since
        )

    def _forget(self, symbol: str, venue: str) -> None:
        for key in [k for k in self._last if k[0] == symbol and venue in k[1:]]:
            self._last.pop(key, None)
            self.current.pop(key, None)
