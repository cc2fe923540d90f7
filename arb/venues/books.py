"""Order-book streams: immutable top-of-book snapshots per (venue, symbol), never an invalid one.

`watch_books` drives ccxt.pro's `watch_order_book` and yields either a valid
`arb.domain.book.OrderBook` (levels copied as tuples on the tick the update arrived) or a
`BookStatus` saying why there is none right now. Sequence gaps are caught on the raw frames
(`arb.venues.integrity`, with each venue's hooks from its module), crossed or empty books
here; either resets the book and resyncs it by the venue's rule (`BookRules.resync`: a REST
snapshot aligned with the cached deltas, or a resubscription whose first push is a full
snapshot). A scan-only venue has no rules: its books are resubscribed. Given `max_silence`,
a valid book that takes no update for that long is invalidated and resynced the same way: on
a venue that pushes changes on a fixed cadence, a live connection (pongs) does not prove a
live subscription. `book_health` is what the scanner
reads to judge freshness.

Given `push`, a valid book is consumed where its frame is read: the frame guard
(arb.venues.integrity.deliver) calls back once the frame is applied, the same checks run and
`push(book)` gets it, all inside ccxt's socket callback. The stream task then only waits
for trouble (a resync request, a dropped connection), not for every update: one task
wake-up per book per update was the largest share of a frame's cost.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ccxt.base.errors import BaseError, UnsubscribeError
from loguru import logger

from arb import errors
from arb.domain.book import Level, OrderBook
from arb.venues.errors import translate
from arb.venues.integrity import (
    BookState,
    Wake,
    book_key,
    guard_for,
    invalidate,
    message_hash,
    request,
    reset,
    status_hash,
)
from arb.venues.profiles import BookRules, profile_for_ccxt


class BookStatusKind(StrEnum):
    """Why a stream has no valid book to hand out."""

    INVALID = "invalid"  # a check failed (gap, crossed, empty, resubscribed); resync under way
    RESYNCING = "resyncing"  # not ready in time; a snapshot / resubscription was requested
    DISCONNECTED = "disconnected"  # the connection dropped; the book restarts on reconnect


@dataclass(frozen=True, slots=True)
class BookStatus:
    """A stream event that carries no book: the consumer must not use this venue's last one."""

    venue: str
    symbol: str
    kind: BookStatusKind
    reason: str
    at: float  # injected monotonic clock


BookEvent = OrderBook | BookStatus


@dataclass(frozen=True, slots=True)
class BookHealth:
    """One book's state for freshness decisions, copied when asked for."""

    venue: str
    symbol: str
    connected: bool
    valid: bool  # the last book handed out is still the venue's book as far as we know
    last_frame_at: float | None  # monotonic time of the last frame for this book
    last_update_at: float | None  # monotonic time of the update that made the current book
    resyncs: int
    last_resync_reason: str | None


def book_health(exchange: Any, symbol: str) -> BookHealth | None:
    """Health of `symbol`'s book on this exchange instance; None while nothing streams it."""
    state = guard_for(exchange).books.get(symbol)
    if state is None:
        return None
    return BookHealth(
        venue=state.venue,
        symbol=state.symbol,
        connected=state.connected,
        valid=state.valid,
        last_frame_at=state.last_frame_at,
        last_update_at=state.applied_at,
        resyncs=state.resyncs,
        last_resync_reason=state.last_reason,
    )


# A scan-only venue (no rules of its own) is rebuilt by resubscribing, its books checked
# for crossed, empty and stale only: ccxt's own handling is all there is of its sequence.
def _no_hooks(guard: Any) -> None:
    return None


async def _resubscribed(stream: Any) -> None:
    await resubscribe(stream)


BASIC = BookRules(install=_no_hooks, resync=_resubscribed)


async def watch_books(
    exchange: Any,
    venue_id: str,
    symbol: str,
    depth: int,
    clock: Callable[[], float],
    *,
    ready_timeout: float = 5.0,
    retry_delay: float = 0.5,
    max_retry_delay: float = 30.0,
    unsubscribe_timeout: float = 5.0,
    fetch_snapshot: Callable[[str, int | None], Awaitable[Any]] | None = None,
    max_silence: float | None = None,
    push: Callable[[OrderBook], None] | None = None,
) -> AsyncGenerator[BookEvent, None]:
    """Yield valid `depth`-level books of `symbol` and status events, forever.

    `exchange` is a ccxt.pro instance; `clock` a monotonic clock in seconds.
    A book not ready `ready_timeout` seconds after (re)subscribing is bootstrapped (MEXC:
    a quiet market sends no delta, so ccxt alone would wait for ever) or resubscribed
    (Gate). Resyncs after the first back off from `retry_delay` to `max_retry_delay`.
    Network loss is retried for ever; any other venue error is raised as an ArbError.
    `fetch_snapshot(symbol, limit)` returns a ccxt order book from REST (MEXC resyncs);
    it defaults to `exchange.fetch_order_book`, pass one to go through a rate limiter.
    A valid book that takes no update for `max_silence` seconds (frames it refuses, pings
    and pongs do not count) is invalidated and resynced, as after a gap.
    With `push` (on a venue with book rules), books made valid by a frame on a live
    connection go to `push` from the socket callback instead of being yielded (books a
    resync or bootstrap makes are still yielded, as are status events); `push` must not
    block. An exception from it ends the stream with that exception, as if the consumer
    had raised here.
    """
    guard = guard_for(exchange)
    if symbol in guard.books:
        raise ValueError(f"{venue_id} {symbol}: a book stream is already running")
    profile = profile_for_ccxt(exchange.id)
    rules = profile.books if profile is not None and profile.books is not None else BASIC
    if rules.fast_apply is not None:
        rules.fast_apply(exchange)
    state = BookState(
        venue=venue_id,
        symbol=symbol,
        clock=clock,
        sequenced=rules is not BASIC,
        key=rules.book_hash(symbol),
    )
    guard.books[symbol] = state
    stream = _Stream(
        exchange=exchange,
        state=state,
        depth=depth,
        rules=rules,
        ws_limit=rules.ws_limit(depth),
        rest_limit=rules.rest_limit(depth),
        ready_timeout=ready_timeout,
        retry_delay=retry_delay,
        max_retry_delay=max_retry_delay,
        unsubscribe_timeout=unsubscribe_timeout,
        fetch_snapshot=fetch_snapshot or exchange.fetch_order_book,
        push=push if state.sequenced else None,
    )
    crashed: list[Exception] = []  # what `push` raised, re-raised here
    _attach(guard.touched, stream, crashed)
    stop_watch = _watch_silence(exchange, state, max_silence) if max_silence else None
    try:
        while True:
            if crashed:
                raise crashed[0]
            if state.pending is None:
                event = await _update(stream)
            else:
                reason, announce = state.pending, state.announce
                state.pending, state.announce = None, False
                # From here until the resync ends, frames of an unready book must not ask
                # for another snapshot: this one will include them.
                state.resyncing = True
                try:
                    if announce:
                        yield BookStatus(venue_id, symbol, BookStatusKind.INVALID, reason, clock())
                    event = await _resync(stream)
                finally:
                    state.resyncing = False
            if event is not None:
                yield event
    finally:
        state.on_applied = None
        state.touched = None
        if stop_watch is not None:
            stop_watch()
        if guard.books.get(symbol) is state:
            del guard.books[symbol]


def _attach(touched: list[BookState], stream: _Stream, crashed: list[Exception]) -> None:
    """In push mode, let the frame guard hand this book's updates to `stream.push`.

    Only on a venue with book rules: its hooks count every applied frame
    (`BookState.applied`), which is what triggers a push. A scan-only venue's frames go
    through ccxt alone, so its stream keeps waiting on ccxt's future (`_Stream.push` None).
    """
    if stream.push is not None:
        stream.state.touched = touched
        stream.state.on_applied = _pusher(stream, stream.push, crashed)


def _pusher(
    stream: _Stream, push: Callable[[OrderBook], None], crashed: list[Exception]
) -> Callable[[BookState], None]:
    """The socket-side consumer: copy and check a valid book a frame changed, then push it."""
    exchange, depth = stream.exchange, stream.depth

    def on_applied(state: BookState) -> None:
        # Only a book the stream already handed out as valid is pushed from here; while it
        # bootstraps or resyncs (not valid, or a resync pending) the stream task decides.
        if not state.valid or state.pending is not None or state.updates == state.copied:
            return
        stored = exchange.orderbooks.get(state.symbol)
        if stored is None:
            return
        try:
            book = _checked(exchange, state, stored.limit(), depth)
            if book is not None:
                push(book)
        except Exception as exc:  # noqa: BLE001 - handed to the stream task, which raises it
            if not crashed:
                crashed.append(exc)
            request(exchange, state, f"consumer failed: {type(exc).__name__}")

    return on_applied


def _watch_silence(exchange: Any, state: BookState, limit: float) -> Callable[[], None]:
    """Invalidate the book whenever it stays valid `limit` seconds without an update.

    A timer per book rather than a timeout per wait: the wait for ccxt's next update is
    the hot path, and a silence check is due once per `limit` at most. Returns the stop.
    """
    loop = asyncio.get_running_loop()
    handle: asyncio.TimerHandle | None = None

    def check() -> None:
        nonlocal handle
        wait = limit
        if state.valid and state.pending is None and state.applied_at is not None:
            quiet = state.clock() - state.applied_at
            if quiet >= limit:
                # Pongs say the connection lives, not that this subscription still does.
                invalidate(exchange, state, f"no book update for {limit:g}s")
            else:
                wait = limit - quiet
        handle = loop.call_later(max(wait, 0.01), check)

    handle = loop.call_later(limit, check)

    def stop() -> None:
        if handle is not None:
            handle.cancel()

    return stop


@dataclass(frozen=True, slots=True)
class _Stream:
    exchange: Any
    state: BookState
    depth: int
    rules: BookRules
    ws_limit: int | None
    rest_limit: int | None
    ready_timeout: float
    retry_delay: float
    max_retry_delay: float
    unsubscribe_timeout: float
    fetch_snapshot: Callable[[str, int | None], Awaitable[Any]]
    push: Callable[[OrderBook], None] | None = None

    def status(self, kind: BookStatusKind, reason: str) -> BookStatus:
        return BookStatus(self.state.venue, self.state.symbol, kind, reason, self.state.clock())

    def backoff(self) -> float:
        """No wait for the first resync after a valid book, then doubling jittered waits."""
        failures = self.state.failures
        if failures <= 1:
            return 0.0
        base = min(self.max_retry_delay, self.retry_delay * 2 ** (failures - 2))
        # "Equal jitter": every book of a dropped connection fails at once; without it they
        # would all reconnect and ask for snapshots in lockstep.
        return float(base * (0.5 + random.random() / 2))  # noqa: S311 - spreading, not secrecy


async def _update(stream: _Stream) -> BookEvent | None:
    """Wait for ccxt's next update of the book and copy it; a status if there is none."""
    state, venue = stream.state, stream.state.venue
    stored = stream.exchange.orderbooks.get(state.symbol)
    if state.valid and stored is not None and state.updates != state.copied:
        # ccxt resolves one waiter per update; those applied while the consumer was busy
        # would otherwise stay unseen until the next one arrives.
        return _checked(stream.exchange, state, stored, stream.depth)
    client = _live_client(stream.exchange, state) if state.valid else None
    try:
        if client is not None and stream.push is not None:
            # Updates go to `push` from the socket callback; this future is only ever
            # rejected: by `request` (Wake) or by ccxt when the connection fails or closes.
            await client.future(status_hash(state.symbol))
            return None
        if client is not None:
            # ccxt's watch_order_book costs tens of microseconds a call (options, proxy
            # settings, market lookups) and, for a book subscribed on a live connection,
            # only hands out that connection's future for the book: take it directly, and
            # trim the book as watch_order_book does before returning it.
            stored = (await client.future(book_key(state))).limit()
        else:
            stored = await asyncio.wait_for(
                stream.exchange.watch_order_book(state.symbol, stream.ws_limit),
                None if state.valid else stream.ready_timeout,
            )
    except Wake:
        return None  # the loop acts on state.pending
    except TimeoutError:
        reason = f"no book {stream.ready_timeout:g}s after subscribing"
        request(stream.exchange, state, reason)
        return stream.status(BookStatusKind.RESYNCING, reason)
    except (BaseError, OSError) as exc:
        _raise_unless_transient(exc, venue)
        reason = f"disconnected: {translate(exc, venue).message}"
        _disconnected(stream.exchange, state, reason)
        await asyncio.sleep(stream.backoff())
        return stream.status(BookStatusKind.DISCONNECTED, reason)
    return _checked(stream.exchange, state, stored, stream.depth)


def _live_client(exchange: Any, state: BookState) -> Any:
    """The open ccxt connection the book is subscribed on; None if unsure (ccxt decides)."""
    clients: dict[str, Any] = exchange.clients or {}
    # MEXC: the connection whose frames built the book; Gate: the one whose subscriptions
    # hold the book's message hash.
    client: Any = state.client or _subscribed(clients, book_key(state))
    if client is None or clients.get(client.url) is not client:
        return None  # none, or closed and replaced: ccxt's watch reconnects and resubscribes
    return client if _open(client) else None


def _open(client: Any) -> bool:
    """Connected (handshake done, no error) and not closed since."""
    connected = client.connected
    if not connected.done() or connected.cancelled() or connected.exception() is not None:
        return False
    return not client.error and not client.closed()


def _subscribed(clients: dict[str, Any], key: str) -> Any:
    return next((c for c in clients.values() if key in c.subscriptions), None)


async def _resync(stream: _Stream) -> BookEvent | None:
    """Rebuild the book by the venue's rule; the book if it is ready at once."""
    state, exchange = stream.state, stream.exchange
    await asyncio.sleep(stream.backoff())
    try:
        stored = await stream.rules.resync(stream)
    except (BaseError, OSError) as exc:
        _raise_unless_transient(exc, state.venue)
        state.failures += 1  # backs off the next attempt: the venue is not answering
        request(exchange, state, f"resync failed: {translate(exc, state.venue).message}")
        return None
    return None if stored is None else _checked(exchange, state, stored, stream.depth)


def _checked(exchange: Any, state: BookState, stored: Any, depth: int) -> OrderBook | None:
    """Copy ccxt's book now (it changes under us) and return it only if it is usable."""
    if state.pending is not None:
        return None  # broken since ccxt resolved it; the resync comes first
    if stored["nonce"] is None and state.sequenced:
        # No sequence id: no delta can ever be placed on it, so it would never change again.
        invalidate(exchange, state, "book without a sequence id")
        return None
    state.copied = state.updates
    book = OrderBook(
        venue=state.venue,
        symbol=state.symbol,
        bids=_levels(stored["bids"], depth),
        asks=_levels(stored["asks"], depth),
        timestamp=stored["timestamp"],
        nonce=stored["nonce"],
        received_at=state.applied_at if state.applied_at is not None else state.clock(),
    )
    if book.empty:
        side = "bids" if not book.bids else "asks"
        invalidate(exchange, state, f"empty {side}")
        return None
    if book.crossed:
        invalidate(exchange, state, f"crossed: bid {book.bids[0][0]} >= ask {book.asks[0][0]}")
        return None
    state.valid = True
    state.failures = 0
    return book


def _levels(side: Any, depth: int) -> tuple[Level, ...]:
    # ccxt's book sides hold [price, amount] lists of floats (its parsers and our fast apply
    # make them so): copying them as tuples in C is a tenth of converting each number, and
    # this runs for every level on every update.
    return tuple(map(tuple, side[:depth]))


def _raise_unless_transient(exc: BaseException, venue: str) -> None:
    """Re-raise as an ArbError unless a retry (reconnect or resync) can fix it."""
    if isinstance(exc, UnsubscribeError):
        return  # our own resubscription cancelled a pending watch
    error = translate(exc, venue)
    if not isinstance(error, errors.VenueUnavailable | errors.BookInvalid):
        raise error from exc


def _disconnected(exchange: Any, state: BookState, reason: str) -> None:
    was_valid = state.valid
    state.connected = False
    reset(exchange, state)
    # The reconnect itself is the resync: ccxt resubscribes on the next watch, Gate then
    # pushes a full snapshot and MEXC's first delta asks for one.
    state.resyncs += 1
    state.failures += 1
    state.last_reason = reason
    if was_valid:
        logger.bind(venue=state.venue).warning("{} book lost: {}", state.symbol, reason)


async def resubscribe(stream: Any) -> None:
    """Unsubscribe and let the next watch subscribe again (a fresh snapshot comes with it)."""
    exchange, state = stream.exchange, stream.state
    limit, ack_seconds = stream.ws_limit, stream.unsubscribe_timeout
    params = {"limit": limit} if limit is not None else {}
    try:
        await asyncio.wait_for(exchange.un_watch_order_book(state.symbol, params), ack_seconds)
    except (TimeoutError, BaseError) as exc:
        # No ack: forget the subscription ourselves so the next watch sends a new one.
        logger.bind(venue=state.venue).info("{} unsubscribe: {!r}", state.symbol, exc)
        for client in list((exchange.clients or {}).values()):
            client.subscriptions.pop(book_key(state), None)
            client.subscriptions.pop("unsubscribe:" + message_hash(state.symbol), None)
    exchange.orderbooks.pop(state.symbol, None)
