"""Playback: recorded frames through the real ccxt.pro decode, our integrity hooks and book copy.

Each recorded connection gets a ccxt.pro instance built exactly as `Venue` builds it (fast
MEXC decoder, Gate fast apply, integrity guard) and a ccxt client per URL that never
connects. A WebSocket frame goes in where the socket hands it to ccxt
(`Client.handle_message`, through our frame guard); a MEXC REST depth answer goes through
ccxt's own `fetch_order_book` parser and is aligned with the cached deltas as a live resync
does. What comes out is what `watch_books` hands the scanner: copied books and status
events. Time is the recording's: `clock` is read for every book's arrival.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMessage, WSMsgType

from arb.config import Settings
from arb.domain.symbols import MarketInfo
from arb.venues.adapter import Venue
from arb.venues.books import BASIC, BookEvent, BookStatus, BookStatusKind, _checked
from arb.venues.integrity import BookState, guard_for
from arb.venues.profiles import BookRules, profile_for_ccxt


@dataclass(slots=True)
class _Connection:
    venue: str
    exchange: Any
    states: list[BookState]


class Playback:
    """Recorded venue traffic in, book events out; one instance per replay."""

    def __init__(
        self,
        settings: Settings,
        markets: Mapping[str, Sequence[Mapping[str, Any]]],
        clock: Callable[[], float],
        depth: int,
    ) -> None:
        """`markets[venue]` holds the ccxt markets recorded at the start (a venue's list)."""
        self._settings = settings
        self._raw = markets
        self._clock = clock
        self._depth = depth
        self._connections: dict[tuple[str, int], _Connection] = {}
        self._venues: list[Venue] = []
        self.markets: dict[str, tuple[MarketInfo, ...]] = {}
        self._unused: dict[str, Venue] = {}  # built for the markets; replays connection 0
        for venue_id, raw in markets.items():
            venue = self._unused[venue_id] = self._venue(venue_id)
            self.markets[venue_id] = venue.use_markets(raw)

    def _venue(self, venue_id: str) -> Venue:
        venue = Venue(self._settings.venue(venue_id), clock=self._clock)
        self._venues.append(venue)
        return venue

    def symbols(self, venue_id: str) -> Iterable[str]:
        """The symbols of every active recorded market of the venue."""
        return (m.symbol for m in self.markets.get(venue_id, ()) if m.active)

    def connection(self, venue_id: str, conn: int) -> _Connection:
        """The instance replaying recorded connection `conn` of the venue (built once)."""
        found = self._connections.get((venue_id, conn))
        if found is None:
            venue = self._unused.pop(venue_id, None)
            if venue is None:
                venue = self._venue(venue_id)
                venue.use_markets(self._raw[venue_id])
            exchange = venue.exchange
            rules = _rules(exchange)
            if rules.fast_apply is not None:
                rules.fast_apply(exchange)  # as watch_books does
            guard = guard_for(exchange)
            states = []
            for symbol in self.symbols(venue_id):
                state = BookState(
                    venue=venue_id,
                    symbol=symbol,
                    clock=self._clock,
                    key=rules.book_hash(symbol),
                    sequenced=rules is not BASIC,
                )
                states.append(state)
                guard.books[symbol] = state
            found = self._connections[(venue_id, conn)] = _Connection(venue_id, exchange, states)
        return found

    def frame(self, venue_id: str, conn: int, url: str, data: str | bytes) -> list[BookEvent]:
        """One WebSocket frame as the socket delivered it; the book events it causes."""
        connection = self.connection(venue_id, conn)
        client = connection.exchange.client(url)
        kind = WSMsgType.BINARY if isinstance(data, bytes) else WSMsgType.TEXT
        client.handle_message(WSMessage(kind, data, None))
        return _collect(connection, self._depth)

    async def rest(
        self, venue_id: str, conn: int, call: str, params: str, answer: str
    ) -> list[BookEvent]:
        """One recorded REST depth answer: a resync aligned with the cached deltas, run by the
        venue's own rule with the recorded answer in place of the request."""
        connection = self.connection(venue_id, conn)
        exchange = connection.exchange
        request = json.loads(params)
        symbol = exchange.safe_symbol(request.get("symbol"))
        state = guard_for(exchange).books.get(symbol)
        rules = _rules(exchange)
        if not rules.rest_resync or state is None:
            return []  # a venue that resyncs by resubscribing: its snapshot is a frame

        async def recorded(_: Any = None) -> Any:
            return json.loads(answer)

        setattr(exchange, call, recorded)
        try:
            stream = _Recorded(exchange, state, request.get("limit"))
            stored = await rules.resync(stream)
        finally:
            delattr(exchange, call)
        state.resyncing = False
        events: list[BookEvent] = []
        if stored is not None:
            book = _checked(exchange, state, stored, self._depth)
            if book is not None:
                events.append(book)
        return events + _collect(connection, self._depth)

    def alive(self, venue_id: str, conn: int) -> list[BookState]:
        """The books of a connection that showed life (a frame arrived on it)."""
        return [s for s in self.connection(venue_id, conn).states if s.connected]

    async def close(self) -> None:
        """Close the ccxt instances (their HTTP sessions; nothing ever connected)."""
        for venue in self._venues:
            await venue.close()


def _collect(connection: _Connection, depth: int) -> list[BookEvent]:
    """What each book's stream would hand out now: a copy of an updated book, or a status."""
    events: list[BookEvent] = []
    exchange = connection.exchange
    for state in connection.states:
        if state.pending is None and state.updates != state.copied:
            stored = exchange.orderbooks.get(state.symbol)
            if stored is not None:
                book = _checked(exchange, state, stored.limit(), depth)
                if book is not None:
                    events.append(book)
        if state.pending is not None:
            events.extend(_resync(exchange, state))
    return events


def _rules(exchange: Any) -> BookRules:
    profile = profile_for_ccxt(exchange.id)
    return profile.books if profile is not None and profile.books is not None else BASIC


@dataclass(frozen=True, slots=True)
class _Recorded:
    """What a venue's `resync` reads of its stream, with the snapshot fetch replayed."""

    exchange: Any
    state: BookState
    rest_limit: int | None

    async def fetch_snapshot(self, symbol: str, limit: int | None) -> Any:
        return await self.exchange.fetch_order_book(symbol, limit)


def _resync(exchange: Any, state: BookState) -> list[BookEvent]:
    """A resync was asked for: the recording holds what the live stream did about it.

    A venue that resyncs from REST: the snapshot it fetched arrives as a recorded answer;
    until then new frames must not ask again. One that resubscribes: the full book after its
    resubscription arrives as a frame.
    """
    reason, announce = state.pending, state.announce
    state.pending, state.announce = None, False
    state.resyncing = _rules(exchange).rest_resync
    if not announce or reason is None:
        return []
    return [BookStatus(state.venue, state.symbol, BookStatusKind.INVALID, reason, state.clock())]
