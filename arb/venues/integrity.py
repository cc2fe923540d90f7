"""Raw-frame integrity for ccxt.pro books: sequence gaps caught before ccxt applies a frame.

ccxt.pro 4.5.90 applies a Gate `spot.obu` delta after a sequence gap silently, never checks
MEXC's `fromVersion == previous toVersion + 1`, and after a MEXC re-subscription keeps the
old book (its ack handler reads the interval, not the market, from the channel name). So
`guard_for` wraps the instance's own `handle_order_book` (and MEXC's ack handler) to see each
raw frame first: a frame that breaks the sequence is dropped, ccxt's copy of the book is
reset, and the book's stream is woken to resynchronise. Anything that decodes MEXC frames
must dispatch them through `exchange.handle_order_book` for this to see them; the one
exception, `arb.venues.fast_apply`, repeats the in-order branch of these hooks for ready
books (so a change to that branch belongs there too: its tests compare every BookState
field) and hands every other frame back to them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from loguru import logger


class Verdict(StrEnum):
    """What to do with one delta frame given the sequence id the book has reached."""

    APPLY = "apply"
    STALE = "stale"  # every update in it is already in the book: drop it
    GAP = "gap"  # updates are missing between the book and this frame: resync


def next_verdict(
    last: int | None, first: int | None, end: int | None, *, after_snapshot: bool
) -> Verdict:
    """Judge a delta carrying venue updates `first..end` against a book that reached `last`."""
    if last is None:
        return Verdict.APPLY  # nothing to compare with yet: the frame starts the sequence
    if first is None or end is None:
        return Verdict.GAP  # a delta without ids cannot be placed in the sequence
    if end <= last:
        return Verdict.STALE
    if first == last + 1:
        return Verdict.APPLY
    # A REST snapshot's id can fall inside a delta's range; levels carry absolute amounts,
    # so re-applying the overlap is exact. Between two deltas only `last + 1` is valid.
    if after_snapshot and first <= last + 1:
        return Verdict.APPLY
    return Verdict.GAP


class Wake(Exception):
    """Rejected into a book's pending ccxt watch so its stream acts on `BookState.pending`."""


@dataclass(slots=True)
class BookState:
    """What arb knows about one ccxt.pro book beyond ccxt itself; mutated on the loop only."""

    venue: str
    symbol: str
    clock: Callable[[], float]
    seq: int | None = None  # last venue update id let into the book (MEXC toVersion, Gate u)
    after_snapshot: bool = False  # `seq` came from a REST snapshot, not from a delta
    valid: bool = False  # the last book handed out passed every check and nothing broke since
    connected: bool = False
    last_frame_at: float | None = None  # any frame for this book, applied or not
    applied_at: float | None = None  # the frame or snapshot that last changed the book
    updates: int = 0  # frames and snapshots applied so far
    copied: int = 0  # `updates` when the stream last copied the book
    resyncs: int = 0
    last_reason: str | None = None
    pending: str | None = None  # why the stream must resync before the next book
    announce: bool = False  # the stream owes the consumer a status event for `pending`
    resyncing: bool = False  # the stream is fetching a snapshot / resubscribing right now
    client: Any = None  # the ccxt connection whose frames built the book
    epoch: int = 0  # bumped on every reset, so a resync in flight knows it was overtaken
    failures: int = 0  # resets since the last valid book: drives the stream's backoff
    behind: int = 0  # frames in a row dropped as already applied (STALE)
    sequenced: bool = True  # False on a scan-only venue: ccxt keeps no sequence id for us
    key: str = ""  # ccxt's message hash of the book ("" : the usual "orderbook:<symbol>")
    # Set by a stream that consumes its book in the socket callback (arb.venues.books push
    # mode): `touched` is the guard's list of books a frame changed, `on_applied` is called
    # with this state once the frame is fully handled.
    touched: list[BookState] | None = None
    on_applied: Callable[[BookState], None] | None = None

    def applied(self, at: float | None) -> None:
        """Record that ccxt's book now includes a frame or snapshot that arrived `at`."""
        self.applied_at = at
        self.updates += 1
        if self.touched is not None:
            self.touched.append(self)


@dataclass(slots=True)
class Guard:
    """The books one exchange instance streams, and the hooks installed to check them."""

    exchange: Any
    books: dict[str, BookState] = field(default_factory=dict)
    # channel or market id -> unified symbol: ccxt's safe_symbol costs more than the rest
    # of the check, and the few ids a connection carries never change meaning.
    symbols: dict[str, str] = field(default_factory=dict)
    # Books the frame being handled changed, consumed right after it (see `deliver`).
    touched: list[BookState] = field(default_factory=list)

    def symbol(self, key: str | None, market_id: str | None, *args: Any) -> str | None:
        """The unified symbol of a frame's market, looked up once per `key`."""
        if key is None:
            return None
        symbol = self.symbols.get(key)
        if symbol is None:
            symbol = self.exchange.safe_symbol(market_id, *args)
            if self.exchange.markets:  # before load_markets ccxt may echo the raw id
                self.symbols[key] = symbol
        return symbol


def _int(value: Any) -> int | None:
    """A sequence id as the venue sent it (number or decimal string); None if unreadable."""
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None  # judged as a delta without ids: a gap, never a crash in ccxt's loop


_GUARDS: weakref.WeakKeyDictionary[Any, Guard] = weakref.WeakKeyDictionary()


# The guard of an instance without installing one: the fast apply paths' per-frame lookup.
guard_of = _GUARDS.get


def guard_for(exchange: Any) -> Guard:
    """The guard of a ccxt.pro instance, installing its venue's hooks on first use.

    A venue with book rules (arb.venues.profiles) gets its raw-frame integrity hooks; any
    other gets only the frame guard below (basic integrity: the stream's own checks).
    """
    guard = _GUARDS.get(exchange)
    if guard is None:
        # Imported here: the venue modules that hold the rules build on this module.
        from arb.venues.profiles import profile_for_ccxt  # noqa: PLC0415

        guard = Guard(exchange)
        profile = profile_for_ccxt(exchange.id)
        if profile is not None and profile.books is not None:
            profile.books.install(guard)
        _install_frame_guard(guard)
        _GUARDS[exchange] = guard
    return guard


def _install_frame_guard(guard: Guard) -> None:
    """Make every connection survive a frame ccxt cannot handle: drop it, resync, go on.

    ccxt.pro handles each frame in a done callback of its receive task and only schedules
    the next receive after the handler returns: one frame that raises (truncated JSON, a
    field of the wrong type, undecodable protobuf) silently stops the connection's receive
    loop while the socket stays open, and its books freeze until a ping times out.
    """
    exchange = guard.exchange
    make_client = exchange.client

    def client(url: str) -> Any:
        made = make_client(url)
        if not getattr(made, "_arb_frame_guard", False):
            handle = made.handle_message

            def handle_message(message: Any) -> None:
                try:
                    handle(message)
                except Exception as exc:  # noqa: BLE001 - any venue bytes may be hostile
                    _rejected_frame(guard, made, exc)
                if guard.touched:
                    deliver(guard)

            made.handle_message = handle_message
            made._arb_frame_guard = True
        return made

    exchange.client = client


def deliver(guard: Guard) -> None:
    """Hand each book the last frame changed to its stream's consumer, in the socket callback.

    Called once the frame is fully handled (every hook and ccxt's apply done), so a consumer
    sees the book as the frame left it (a consumer skips a book it already has).
    """
    touched = guard.touched.copy()
    guard.touched.clear()
    for state in touched:
        if state.on_applied is not None:
            state.on_applied(state)


def _rejected_frame(guard: Guard, client: Any, exc: Exception) -> None:
    """A frame failed in ccxt: it may have half-changed a book, so resync this connection's."""
    venue = next(iter(guard.books.values())).venue if guard.books else guard.exchange.id
    reason = f"frame rejected: {type(exc).__name__}: {str(exc)[:120]}"
    logger.bind(venue=venue).warning("{} on {}", reason, getattr(client, "url", "?"))
    for state in guard.books.values():
        # Gate books are not bound to a connection; MEXC books are, once a frame built them.
        if state.client is None or state.client is client:
            invalidate(guard.exchange, state, reason, client)


def message_hash(symbol: str) -> str:
    """The key ccxt.pro resolves a book's watchers under on most venues."""
    return "orderbook:" + symbol


def book_key(state: BookState) -> str:
    """The key ccxt.pro resolves this book's watchers under (its venue's `book_hash`)."""
    return state.key or message_hash(state.symbol)


def reset(exchange: Any, state: BookState) -> None:
    """Forget the book's sequence and ccxt's copy of it, so it is rebuilt from scratch."""
    state.valid = False
    state.seq = None
    state.after_snapshot = False
    state.behind = 0
    state.client = None
    state.epoch += 1
    stored = exchange.orderbooks.get(state.symbol)
    if stored is not None:
        # nonce None: MEXC caches deltas until our snapshot, Gate ignores deltas until a full.
        stored["nonce"] = None
        stored.cache = []


def status_hash(symbol: str) -> str:
    """The key a push-mode stream waits under: ccxt never resolves it, only rejects it
    (with every other future of a connection that fails or closes) and `request` does."""
    return "arb-status:" + symbol


def request(
    exchange: Any, state: BookState, reason: str, client: Any = None, *, announce: bool = False
) -> None:
    """Ask the book's stream to resync, waking it through ccxt's own future if it waits."""
    state.pending = reason
    state.announce = state.announce or announce
    clients = (exchange.clients or {}).values()
    woken = False
    for key in (book_key(state), status_hash(state.symbol)):
        for target in [c for c in clients if key in c.futures]:
            target.reject(Wake(reason), key)
            woken = True
    if not woken and client is not None:
        # With nobody waiting the rejection is kept for the next watch: the stream may be
        # between its `pending` check and ccxt creating the future.
        client.reject(Wake(reason), book_key(state))


def invalidate(exchange: Any, state: BookState, reason: str, client: Any = None) -> None:
    """Mark the book unusable, drop ccxt's copy, count and log a resync, wake the stream."""
    reset(exchange, state)
    state.resyncs += 1
    state.failures += 1
    state.last_reason = reason
    logger.bind(venue=state.venue).warning(
        "{} book invalid ({}), resync #{}", state.symbol, reason, state.resyncs
    )
    request(exchange, state, reason, client, announce=True)


# Frames in a row older than the book before its sequence counts as gone backwards: a few
# are normal right after a MEXC snapshot that is ahead of the stream; a steady run means
# the book's id came from somewhere the stream is not (a bad snapshot) and it is frozen.
MAX_BEHIND = 20


def _dropped(
    exchange: Any, state: BookState, verdict: Verdict, end: int | None, client: Any
) -> bool:
    """True for a frame older than the book (dropped); resync when the stream stays behind."""
    if verdict is not Verdict.STALE:
        state.behind = 0
        return False
    state.behind += 1
    if state.behind >= MAX_BEHIND:
        invalidate(exchange, state, f"sequence went back: {end} after {state.seq}", client)
    return True


def _tracked(state: BookState | None) -> BookState | None:
    if state is not None:
        state.last_frame_at = state.clock()
        state.connected = True
    return state
