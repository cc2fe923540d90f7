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

    def applied(self, at: float | None) -> None:
        """Record that ccxt's book now includes a frame or snapshot that arrived `at`."""
        self.applied_at = at
        self.updates += 1


@dataclass(slots=True)
class Guard:
    """The books one exchange instance streams, and the hooks installed to check them."""

    exchange: Any
    books: dict[str, BookState] = field(default_factory=dict)
    # channel or market id -> unified symbol: ccxt's safe_symbol costs more than the rest
    # of the check, and the few ids a connection carries never change meaning.
    symbols: dict[str, str] = field(default_factory=dict)

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
    """The guard of a ccxt.pro mexc or gate instance, installing its hooks on first use."""
    guard = _GUARDS.get(exchange)
    if guard is None:
        guard = Guard(exchange)
        if exchange.id == "mexc":
            _install_mexc(guard)
        elif exchange.id in ("gate", "gateio"):
            _install_gate(guard)
        else:
            raise ValueError(f"no book integrity rules for ccxt exchange {exchange.id!r}")
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

            made.handle_message = handle_message
            made._arb_frame_guard = True
        return made

    exchange.client = client


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
    """The key ccxt.pro resolves a book's watchers under (same on both venues)."""
    return "orderbook:" + symbol


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


def request(
    exchange: Any, state: BookState, reason: str, client: Any = None, *, announce: bool = False
) -> None:
    """Ask the book's stream to resync, waking it through ccxt's own future if it waits."""
    state.pending = reason
    state.announce = state.announce or announce
    key = message_hash(state.symbol)
    waiting = [c for c in (exchange.clients or {}).values() if key in c.futures]
    # With nobody waiting the rejection is kept for the next watch: the stream may be
    # between its `pending` check and ccxt creating the future.
    for target in waiting or ([client] if client is not None else []):
        target.reject(Wake(reason), key)


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


def _install_mexc(guard: Guard) -> None:
    exchange = guard.exchange
    original = exchange.handle_order_book
    # -1 never equals the cache length, so ccxt never starts its own snapshot: it waits for
    # 25 cached deltas (a quiet book never gets there) and then skips the delta that
    # straddles the snapshot id. The stream fetches and aligns the snapshot instead.
    exchange.options.setdefault("watchOrderBook", {})["snapshotDelay"] = -1

    def handle_order_book(client: Any, message: Any) -> None:
        # Plain dict reads on the hot path: ccxt's safe_* accessors cost microseconds each.
        data = message.get("publicAggreDepths") or message.get("d") or message.get("data")
        market_id = message.get("symbol") or message.get("s")
        symbol = guard.symbol(market_id, market_id)
        state = _tracked(guard.books.get(symbol)) if symbol is not None else None
        if state is None or not isinstance(data, dict):
            original(client, message)
            return
        first = _int(data.get("fromVersion", data.get("r")))
        end = _int(data.get("toVersion", data.get("r")))
        verdict = next_verdict(state.seq, first, end, after_snapshot=state.after_snapshot)
        if _dropped(exchange, state, verdict, end, client):
            return
        if verdict is Verdict.GAP:
            invalidate(
                exchange, state, f"sequence gap: fromVersion {first} after {state.seq}", client
            )
        # After a gap this frame is the first of the cache the next snapshot is aligned with.
        state.client = client
        state.seq = end
        state.after_snapshot = False
        stored = exchange.orderbooks.get(symbol)
        ready = stored is not None and stored["nonce"] is not None
        original(client, message)
        if ready:
            state.applied(state.last_frame_at)
        elif state.pending is None and not state.resyncing:
            request(exchange, state, "snapshot needed", client)

    def handle_book_delta(orderbook: Any, delta: Any) -> None:
        # ccxt keeps fromVersion as the nonce and drops a delta whose fromVersion is below
        # it, which loses the one that straddles a snapshot; order is checked before this.
        end = exchange.safe_integer_n(delta, ["toVersion", "r", "version", "fromVersion"])
        nonce = orderbook["nonce"]
        if end is not None and nonce is not None and end <= nonce:
            return
        orderbook["nonce"] = end
        exchange.handle_bookside_delta(orderbook["asks"], exchange.safe_list(delta, "asks", []))
        exchange.handle_bookside_delta(orderbook["bids"], exchange.safe_list(delta, "bids", []))

    def handle_order_book_subscription(client: Any, message: Any) -> None:
        # ccxt 4.5.90 takes the market from part 2 of the channel, '100ms' on aggre.depth,
        # so after a reconnect it keeps the old book and applies new deltas on top. The
        # market id is the last part on every depth channel. A book built from another
        # connection's frames restarts; a snapshot-only book is checked by the next delta.
        channel = exchange.safe_string(message, "msg", "")
        symbol = exchange.safe_symbol(channel.split("@")[-1])
        state = _tracked(guard.books.get(symbol))
        if state is None:
            stored = exchange.orderbooks.get(symbol)
            if stored is not None:
                stored["nonce"] = None
                stored.cache = []
            return
        if state.client is not None and state.client is not client:
            if state.valid:
                invalidate(exchange, state, "resubscribed", client)
            else:
                reset(exchange, state)

    exchange.handle_order_book = handle_order_book
    exchange.handle_book_delta = handle_book_delta
    exchange.handle_order_book_subscription = handle_order_book_subscription


def _snapshot_taken(exchange: Any, state: BookState, end: int | None, client: Any) -> bool:
    """Whether a Gate full snapshot up to `end` may replace the book (if not: dropped or resync).

    Gate "may send full depth snapshots multiple times", and each replaces the book.
    Two kinds would freeze it. One without a readable `u`: its sequence id would be None,
    which here means "no snapshot since subscribing", so every later delta would be
    dropped unseen (ccxt, its nonce None too, ignores them as well) while the stream had
    already handed the snapshot out as valid. And one older than the book (a late
    snapshot from before a resubscription): its levels replace newer ones, and on a
    quiet book no delta comes to expose the step back.
    """
    if end is None:
        invalidate(exchange, state, "full snapshot without a readable u", client)
        return False
    if state.seq is not None and end < state.seq:
        _dropped(exchange, state, Verdict.STALE, end, client)
        return False
    state.seq = end  # the next delta must start at u + 1
    state.after_snapshot = False
    state.behind = 0
    return True


def _install_gate(guard: Guard) -> None:
    exchange = guard.exchange
    original = exchange.handle_order_book

    def handle_order_book(client: Any, message: Any) -> None:
        result = message.get("result")
        if message.get("channel") != "spot.obu" or not isinstance(result, dict):
            original(client, message)
            return
        channel = result.get("s")  # "ob.BTC_USDT.50"
        parts = channel.split(".") if isinstance(channel, str) else []
        market_id = parts[1] if len(parts) > 1 else None
        symbol = guard.symbol(channel, market_id, None, "_", "spot")
        state = _tracked(guard.books.get(symbol)) if symbol is not None else None
        if state is None:
            original(client, message)
            return
        end = _int(result.get("u"))
        if result.get("full") is True:
            if _snapshot_taken(exchange, state, end, client):
                original(client, message)
                state.applied(state.last_frame_at)
            return
        if state.seq is None:
            return  # no full snapshot since the (re)subscription: ccxt would ignore it too
        first = _int(result.get("U"))
        verdict = next_verdict(state.seq, first, end, after_snapshot=False)
        if _dropped(exchange, state, verdict, end, client):
            return
        if verdict is Verdict.GAP:
            invalidate(exchange, state, f"sequence gap: U {first} after u {state.seq}", client)
            return
        state.seq = end
        original(client, message)
        state.applied(state.last_frame_at)

    exchange.handle_order_book = handle_order_book
