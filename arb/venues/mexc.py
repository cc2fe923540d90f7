"""MEXC spot: its profile, and the rules that keep its protobuf depth books whole.

Book integrity on the raw frames: aggre.depth pushes carry fromVersion..toVersion; each must
start at the previous toVersion + 1 (ccxt.pro 4.5.90 never checks). A book is seeded from a
REST snapshot (`lastUpdateId`) aligned with the deltas cached since, never by ccxt itself.
"""

from __future__ import annotations

from typing import Any

from arb.venues import mexc_decode
from arb.venues.integrity import (
    BookState,
    Guard,
    Verdict,
    _dropped,
    _int,
    _tracked,
    invalidate,
    next_verdict,
    request,
    reset,
)
from arb.venues.limits import Call, Charge, window
from arb.venues.profiles import BookRules, VenueProfile, frozen

# MEXC's REST snapshot returns 100 levels unless asked for more; ccxt.pro keeps every level
# it is sent on the stream.
_SNAPSHOT_LEVELS = 100
_SNAPSHOT_TRIES = 4  # lagging snapshots retried (with backoff) before the cache is dropped


def install(guard: Guard) -> None:
    """Check every raw depth frame's versions before ccxt applies it; align snapshots."""
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

    exchange.handle_order_book = handle_order_book
    _hook_deltas(exchange)
    _hook_acks(guard)


def _hook_deltas(exchange: Any) -> None:
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

    exchange.handle_book_delta = handle_book_delta


def _hook_acks(guard: Guard) -> None:
    exchange = guard.exchange

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

    exchange.handle_order_book_subscription = handle_order_book_subscription


async def resync(stream: Any) -> Any:
    """Rebuild a reset book from a REST snapshot plus the deltas cached since."""
    state = stream.state
    epoch = state.epoch
    snapshot = await stream.fetch_snapshot(state.symbol, stream.rest_limit)
    return seed(stream.exchange, state, snapshot, epoch)


def seed(exchange: Any, state: BookState, snapshot: Any, epoch: int) -> Any:
    """Seed ccxt's MEXC book from a REST snapshot plus the deltas cached since; None if stale."""
    if state.epoch != epoch:
        return None  # reset while we fetched (gap, resubscribe); a fresh request follows
    stored = exchange.orderbooks.get(state.symbol)
    if stored is None:
        stored = exchange.orderbooks[state.symbol] = exchange.order_book()
    top = exchange.safe_integer(snapshot, "nonce")
    if top is None:
        invalidate(exchange, state, "snapshot without lastUpdateId")
        return None
    newer = [
        delta
        for delta in stored.cache
        if (exchange.safe_integer_n(delta, ["toVersion", "r", "version"]) or 0) > top
    ]
    first = exchange.safe_integer_n(newer[0], ["fromVersion", "r", "version"]) if newer else None
    if first is not None and first > top + 1:
        # The snapshot predates the oldest delta we hold (MEXC's REST book can lag its
        # stream): ask again later, keeping the cache, and give up on it after a few tries.
        reason = f"snapshot {top} older than delta from {first}"
        if state.failures < _SNAPSHOT_TRIES:
            state.failures += 1
            request(exchange, state, reason)
        else:
            invalidate(exchange, state, reason)
        return None
    stored.reset(snapshot)
    for delta in newer:
        exchange.handle_book_delta(stored, delta)
    stored.cache = []
    if not newer:
        state.seq = top
        state.after_snapshot = True
    state.applied(state.clock())
    return stored


def _rest_limit(depth: int) -> int | None:
    return depth if depth > _SNAPSHOT_LEVELS else None


# MEXC spot v3 (https://www.mexc.com/api-docs/spot-v3/general-info, "Limits
# Description"): IP and UID limits are independent, and "each endpoint with IP limits has
# an independent 500 every 10 second limit" (the same for UID), counted in each endpoint's
# weight. Weights from the endpoint pages (spot-v3/market-data-endpoints,
# spot-v3/spot-account-trade): exchangeInfo 10, depth 1, account 10 (and "rate limit: 2
# times/s"), tradeFee 20, query order 2, new order 1 (IP) and 1 (UID), cancel order 1.
# Bursts are a tenth of the window so a burst never borrows against the venue's count.
_MEXC_WINDOW = window(500, 10, burst=50)
_MEXC_BUDGETS = {
    "GET /api/v3/exchangeInfo": _MEXC_WINDOW,
    "GET /api/v3/depth": _MEXC_WINDOW,
    # "2 times/s" at weight 10 is tighter than the endpoint's 500/10 s: one call at once,
    # then one a second, never more than two in any second.
    "GET /api/v3/account": window(20, 1, burst=10),
    "GET /api/v3/tradeFee": _MEXC_WINDOW,
    "GET /api/v3/order": _MEXC_WINDOW,
    "POST /api/v3/order": _MEXC_WINDOW,
    "DELETE /api/v3/order": _MEXC_WINDOW,
}
_MEXC_COSTS = {
    Call.LOAD_MARKETS: (Charge("GET /api/v3/exchangeInfo", 10),),  # spot only: one request
    Call.FETCH_ORDER_BOOK: (Charge("GET /api/v3/depth", 1),),
    Call.FETCH_BALANCE: (Charge("GET /api/v3/account", 10),),
    Call.FETCH_TRADING_FEE: (Charge("GET /api/v3/tradeFee", 20),),
    Call.FETCH_ORDER: (Charge("GET /api/v3/order", 2),),
    Call.CREATE_ORDER: (Charge("POST /api/v3/order", 1),),
    Call.CANCEL_ORDER: (Charge("DELETE /api/v3/order", 1),),
}


PROFILE = VenueProfile(
    venue_id="mexc",
    ccxt_id="mexc",
    options=frozen({"adjustForTimeDifference": False}),
    spot_markets_only=True,
    load_currencies=False,
    budgets=frozen(_MEXC_BUDGETS),
    costs=frozen(_MEXC_COSTS),
    client_id_prefix="",
    client_id_max_len=32,
    create_reports_fills=False,
    orders_report_fees=False,
    market_buy_takes_cost=False,
    # Its protobuf decoder, which also routes depth pushes to ready books the lean way.
    decoder=mexc_decode.install,
    books_per_connection=30,
    # MEXC spot v3 answers an unknown order with {"code":-2013,"msg":"Order does not
    # exist."} (Binance's code); ccxt's mexc error table has no entry for it.
    order_not_found_codes=("-2013",),
    book_push_ms=100,  # spot@public.aggre.depth.v3.api.pb@100ms
    listed=0,
    books=BookRules(
        snapshot_call="spotPublicGetDepth",
        rest_resync=True,
        install=install,
        resync=resync,
        rest_limit=_rest_limit,
    ),
)
